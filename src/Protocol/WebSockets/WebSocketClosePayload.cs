using System.Buffers;
using System.Buffers.Binary;

namespace Gateway.Protocol.WebSockets;

/// <summary>RFC 6455 §5.5.1 close frame body: optional 2-byte code, then a UTF-8 reason.</summary>
public static class WebSocketClosePayload
{
    /// <summary>Parses a received close body. An empty body means "no status" (1005, never sent back).</summary>
    public static ProtocolError TryParse(ReadOnlySpan<byte> payload, out ushort code, out ReadOnlySpan<byte> reason)
    {
        code = 1005;
        reason = default;
        if (payload.IsEmpty)
        {
            return ProtocolError.None;
        }

        if (payload.Length == 1)
        {
            return ProtocolError.InvalidClosePayload;
        }

        code = BinaryPrimitives.ReadUInt16BigEndian(payload);
        if (!WebSocketCloseCode.IsValidOnWire(code))
        {
            return ProtocolError.InvalidCloseCode;
        }

        reason = payload.Slice(2);
        return Utf8MessageValidator.IsValid(reason) ? ProtocolError.None : ProtocolError.InvalidUtf8;
    }

    /// <summary>Writes a complete close frame (server side: unmasked) with a status code and no reason.</summary>
    public static void WriteFrame(IBufferWriter<byte> writer, ushort code, uint? maskKey = null)
    {
        Span<byte> body = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(body, code);
        WebSocketFrameHeader.Write(writer, WebSocketOpcode.Close, fin: true, 2, maskKey);
        Span<byte> dest = writer.GetSpan(2);
        body.CopyTo(dest);
        if (maskKey.HasValue)
        {
            WebSocketMask.Apply(dest.Slice(0, 2), maskKey.Value, 0);
        }

        writer.Advance(2);
    }
}
