using System.Buffers;
using Gateway.Protocol;
using Gateway.Protocol.EngineIO;
using static Gateway.Fuzz.FuzzInvariantException;

namespace Gateway.Fuzz.Targets;

/// <summary>
/// A polling POST body as the session reads it: records split at <c>\x1e</c>, each a text packet or a base64 binary
/// record; and the whole input as one WebSocket text message (a single packet).
/// </summary>
public static class EngineIOTarget
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        int records = 0;
        var decoded = new ArrayBufferWriter<byte>();
        foreach (ReadOnlySpan<byte> record in EngineIOPollingPayload.Split(input))
        {
            records++;
            CheckWithin(input, record, "record");
            Check(!record.Contains(EngineIOPollingPayload.RecordSeparator), "a record holds a separator");
            if (!record.IsEmpty && record[0] == EngineIOPacket.BinaryPrefix)
            {
                decoded.Clear();
                if (EngineIOPacket.TryDecodeBase64(record.Slice(1), decoded) == ProtocolError.None)
                {
                    Check(decoded.WrittenCount <= record.Length * 3 / 4, "decoded longer than its base64");
                    var encoded = new ArrayBufferWriter<byte>();
                    EngineIOPacket.WriteBase64Record(encoded, decoded.WrittenSpan);
                    Check(encoded.WrittenCount <= record.Length, "re-encoded record longer than the original");
                }

                continue;
            }

            CheckTextPacket(record);
        }

        Check(records == (input.IsEmpty ? 0 : input.Count(EngineIOPollingPayload.RecordSeparator) + 1), "record count");
        CheckTextPacket(input);
    }

    private static void CheckTextPacket(ReadOnlySpan<byte> packet)
    {
        ProtocolError error = EngineIOPacket.TryParseText(packet, out EngineIOPacketType type, out ReadOnlySpan<byte> data);
        if (error != ProtocolError.None)
        {
            return;
        }

        Check(type <= EngineIOPacketType.Noop && packet[0] == (byte)('0' + (byte)type), "packet type");
        CheckWithin(packet, data, "packet data");
        Check(data.Length == packet.Length - 1, "packet data length");
        var written = new ArrayBufferWriter<byte>();
        EngineIOPacket.WriteText(written, type, data);
        Check(written.WrittenSpan.SequenceEqual(packet), "text packet round trip");
    }
}
