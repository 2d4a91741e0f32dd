using System.Buffers;
using System.Buffers.Text;

namespace Gateway.Protocol.EngineIO;

/// <summary>
/// Engine.IO v4 packets. Text: one type digit then the data (<c>4hello</c>). Binary on WebSocket: a binary frame
/// that is the message data itself (no type byte). Binary on polling: a record <c>b</c> + base64 of the data.
/// </summary>
public static class EngineIOPacket
{
    /// <summary>Prefix of a base64 binary record in a polling payload.</summary>
    public const byte BinaryPrefix = (byte)'b';

    /// <summary>Parses a text packet: the type digit and the data after it.</summary>
    public static ProtocolError TryParseText(ReadOnlySpan<byte> packet, out EngineIOPacketType type, out ReadOnlySpan<byte> data)
    {
        data = default;
        type = default;
        if (packet.IsEmpty)
        {
            return ProtocolError.EmptyEngineIOPacket;
        }

        uint digit = (uint)(packet[0] - '0');
        if (digit > (uint)EngineIOPacketType.Noop)
        {
            return ProtocolError.InvalidEngineIOPacketType;
        }

        type = (EngineIOPacketType)digit;
        data = packet.Slice(1);
        return ProtocolError.None;
    }

    /// <summary>Appends a text packet.</summary>
    public static void WriteText(IBufferWriter<byte> writer, EngineIOPacketType type, ReadOnlySpan<byte> data)
    {
        Span<byte> span = writer.GetSpan(1 + data.Length);
        span[0] = (byte)('0' + (byte)type);
        data.CopyTo(span.Slice(1));
        writer.Advance(1 + data.Length);
    }

    /// <summary>Length of the polling record for binary data: <c>b</c> + base64.</summary>
    public static int GetBase64RecordLength(int dataLength) => 1 + Base64.GetMaxEncodedToUtf8Length(dataLength);

    /// <summary>Appends a polling binary record (<c>b</c> + base64 of <paramref name="data"/>).</summary>
    public static void WriteBase64Record(IBufferWriter<byte> writer, ReadOnlySpan<byte> data)
    {
        int length = GetBase64RecordLength(data.Length);
        Span<byte> span = writer.GetSpan(length);
        span[0] = BinaryPrefix;
        Base64.EncodeToUtf8(data, span.Slice(1), out _, out int written);
        writer.Advance(1 + written);
    }

    /// <summary>Decodes the base64 part of a binary polling record (after the <c>b</c>) into <paramref name="writer"/>.</summary>
    public static ProtocolError TryDecodeBase64(ReadOnlySpan<byte> base64, IBufferWriter<byte> writer)
    {
        int max = Base64.GetMaxDecodedFromUtf8Length(base64.Length);
        Span<byte> span = writer.GetSpan(Math.Max(1, max));
        OperationStatus status = Base64.DecodeFromUtf8(base64, span, out int consumed, out int written);
        if (status != OperationStatus.Done || consumed != base64.Length)
        {
            return ProtocolError.InvalidBase64;
        }

        writer.Advance(written);
        return ProtocolError.None;
    }
}
