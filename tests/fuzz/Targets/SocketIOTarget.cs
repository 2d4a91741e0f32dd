using System.Buffers;
using Gateway.Protocol;
using Gateway.Protocol.EngineIO;
using Gateway.Protocol.SocketIO;
using static Gateway.Fuzz.FuzzInvariantException;

namespace Gateway.Fuzz.Targets;

/// <summary>
/// A Socket.IO packet and its binary attachments as they arrive in one polling body: the first record is the packet's
/// text (<c>51-["ev",{"_placeholder":true,"num":0}]</c>), the next ones its attachments as base64 records. A packet
/// that parses must write back (<see cref="SocketIOPacketWriter"/>) to text that parses the same.
/// </summary>
public static class SocketIOTarget
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        EngineIOPollingPayload.RecordEnumerator records = EngineIOPollingPayload.Split(input);
        if (!records.MoveNext())
        {
            return;
        }

        ReadOnlySpan<byte> text = records.Current;
        if (SocketIOPacketParser.TryParse(text, out SocketIOPacket packet) != ProtocolError.None)
        {
            return;
        }

        CheckPacket(text, packet);
        var rewritten = new ArrayBufferWriter<byte>();
        SocketIOPacketWriter.Write(rewritten, packet.Type, packet.Namespace, packet.Payload, packet.AckId, packet.Attachments);
        Check(SocketIOPacketParser.TryParse(rewritten.WrittenSpan, out SocketIOPacket again) == ProtocolError.None, "a parsed packet, written back, does not parse");
        Check(
            again.Type == packet.Type && again.Attachments == packet.Attachments && again.AckId == packet.AckId &&
            again.Namespace.SequenceEqual(packet.Namespace) && again.Payload.SequenceEqual(packet.Payload) &&
            again.EventName.SequenceEqual(packet.EventName) && again.EventArguments.SequenceEqual(packet.EventArguments),
            "packet round trip");

        var attachment = new ArrayBufferWriter<byte>();
        for (int i = 0; i < packet.Attachments && records.MoveNext(); i++)
        {
            ReadOnlySpan<byte> record = records.Current;
            attachment.Clear();
            if (record.IsEmpty || record[0] != EngineIOPacket.BinaryPrefix || EngineIOPacket.TryDecodeBase64(record.Slice(1), attachment) != ProtocolError.None)
            {
                return; // not an attachment: the session refuses the packet
            }
        }
    }

    private static void CheckPacket(ReadOnlySpan<byte> text, in SocketIOPacket packet)
    {
        Check(packet.Type <= SocketIOPacketType.BinaryAck && text[0] == (byte)('0' + (byte)packet.Type), "packet type");
        Check(packet.Attachments is >= 0 and <= SocketIOPacketParser.MaxAttachments && (packet.IsBinary || packet.Attachments == 0), "attachment count");
        Check(packet.AckId >= -1 && (!packet.IsAck || packet.HasAckId), "ack id");
        Check(!packet.Namespace.IsEmpty && packet.Namespace[0] == (byte)'/', "namespace");
        if (packet.Namespace.Length > 1)
        {
            CheckWithin(text, packet.Namespace, "namespace");
        }

        CheckWithin(text, packet.Payload, "payload");
        CheckWithin(packet.Payload, packet.EventName, "event name");
        CheckWithin(packet.Payload, packet.EventArguments, "event arguments");
        Check(!packet.IsEvent || packet.Payload.Length >= 2, "event payload");
    }
}
