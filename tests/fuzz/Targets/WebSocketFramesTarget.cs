using System.Buffers;
using Gateway.Protocol;
using Gateway.Protocol.WebSockets;
using static Gateway.Fuzz.FuzzInvariantException;

namespace Gateway.Fuzz.Targets;

/// <summary>
/// Client frames as the gateway reads them (WebSocketConnection.OnRead): header, masked payload, control frames and
/// close bodies, fragmentation and UTF-8 across frames, until the input ends or a frame is refused.
/// </summary>
public static class WebSocketFramesTarget
{
    private const long MaxMessageLength = 1 << 16;

    public static void Run(ReadOnlySpan<byte> input)
    {
        byte[] bytes = input.ToArray();
        var state = default(WebSocketMessageState);
        int offset = 0;
        while (true)
        {
            ReadOnlySpan<byte> rest = bytes.AsSpan(offset);
            OperationStatus status = WebSocketFrameHeader.TryRead(rest, requireMask: true, out WebSocketFrameHeader header, out ProtocolError error);
            CheckSequenceAgrees(bytes, offset, status, header, error);
            if (status != OperationStatus.Done)
            {
                Check(status == OperationStatus.NeedMoreData ? error == ProtocolError.None : error != ProtocolError.None, "status and error disagree");
                return;
            }

            Check(header.HeaderLength is >= 2 and <= WebSocketFrameHeader.MaxLength && header.HeaderLength <= rest.Length, "header length");
            Check(header.PayloadLength >= 0 && header.Masked, "payload length sign, mask");
            Check(!header.IsControl || (header.Fin && header.PayloadLength <= WebSocketFrameHeader.MaxControlPayloadLength), "control frame rules");
            if (rest.Length - header.HeaderLength < header.PayloadLength)
            {
                return; // the gateway waits for the rest of the frame
            }

            Span<byte> payload = bytes.AsSpan(offset + header.HeaderLength, (int)header.PayloadLength);
            UnmaskInTwoChunks(payload, header.MaskKey);
            offset += header.HeaderLength + (int)header.PayloadLength;
            if (header.IsControl)
            {
                if (header.Opcode == WebSocketOpcode.Close)
                {
                    error = WebSocketClosePayload.TryParse(payload, out ushort code, out ReadOnlySpan<byte> reason);
                    CheckWithin(payload, reason, "close reason");
                    Check(error != ProtocolError.None || payload.IsEmpty || WebSocketCloseCode.IsValidOnWire(code), "close code");
                    return;
                }

                continue;
            }

            if (state.OnDataFrame(header, MaxMessageLength) != ProtocolError.None || state.OnPayload(payload) != ProtocolError.None)
            {
                return;
            }

            Check(state.InMessage && state.MessageLength <= MaxMessageLength, "message length within the limit");
            if (header.Fin && state.OnMessageEnd() != ProtocolError.None)
            {
                return;
            }
        }
    }

    /// <summary>The multi-segment reader, on the same bytes cut in two, reads the same header.</summary>
    private static void CheckSequenceAgrees(byte[] bytes, int offset, OperationStatus status, WebSocketFrameHeader header, ProtocolError error)
    {
        byte[] rest = bytes.AsSpan(offset).ToArray();
        OperationStatus splitStatus = WebSocketFrameHeader.TryRead(TwoSegments.Cut(rest, rest.Length / 2), requireMask: true, out WebSocketFrameHeader splitHeader, out ProtocolError splitError);
        Check(
            splitStatus == status && splitError == error && splitHeader.HeaderLength == header.HeaderLength && splitHeader.PayloadLength == header.PayloadLength &&
            splitHeader.MaskKey == header.MaskKey && splitHeader.Opcode == header.Opcode && splitHeader.Fin == header.Fin,
            "sequence and span readers disagree");
    }

    /// <summary>Unmasks in place in two chunks (the key offset carried across) and checks it against one pass.</summary>
    private static void UnmaskInTwoChunks(Span<byte> payload, uint maskKey)
    {
        byte[] whole = payload.ToArray();
        WebSocketMask.Apply(whole, maskKey, 0);
        int cut = payload.Length / 3;
        int maskOffset = WebSocketMask.Apply(payload.Slice(0, cut), maskKey, 0);
        WebSocketMask.Apply(payload.Slice(cut), maskKey, maskOffset);
        Check(payload.SequenceEqual(whole), "masking in chunks differs from one pass");
    }
}
