using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Gateway.Protocol.WebSockets;

/// <summary>A decoded RFC 6455 §5.2 frame header.</summary>
public readonly struct WebSocketFrameHeader
{
    /// <summary>Largest header: 2 bytes + 8-byte length + 4-byte mask.</summary>
    public const int MaxLength = 14;

    /// <summary>RFC 6455 §5.5: control frames carry at most 125 bytes.</summary>
    public const int MaxControlPayloadLength = 125;

    public WebSocketFrameHeader(bool fin, WebSocketOpcode opcode, bool masked, uint maskKey, long payloadLength, int headerLength)
    {
        Fin = fin;
        Opcode = opcode;
        Masked = masked;
        MaskKey = maskKey;
        PayloadLength = payloadLength;
        HeaderLength = headerLength;
    }

    public bool Fin { get; }

    public WebSocketOpcode Opcode { get; }

    public bool Masked { get; }

    /// <summary>The four mask bytes as they appear on the wire, read little-endian (byte 0 in the low bits).</summary>
    public uint MaskKey { get; }

    public long PayloadLength { get; }

    public int HeaderLength { get; }

    public bool IsControl => ((byte)Opcode & 0x8) != 0;

    /// <summary>
    /// Reads one frame header. <paramref name="requireMask"/> is true on the server (client frames must be masked,
    /// §5.1) and false on a client (server frames must not be). A partial header consumes nothing.
    /// </summary>
    public static OperationStatus TryRead(ReadOnlySpan<byte> buffer, bool requireMask, out WebSocketFrameHeader header, out ProtocolError error)
    {
        header = default;
        error = ProtocolError.None;
        if (buffer.Length < 2)
        {
            return OperationStatus.NeedMoreData;
        }

        byte b0 = buffer[0];
        byte b1 = buffer[1];
        if ((b0 & 0x70) != 0)
        {
            // No extension is ever negotiated, so RSV1-3 must be zero (§5.2).
            error = ProtocolError.ReservedBitsSet;
            return OperationStatus.InvalidData;
        }

        var opcode = (WebSocketOpcode)(b0 & 0x0F);
        bool fin = (b0 & 0x80) != 0;
        switch (opcode)
        {
            case WebSocketOpcode.Continuation:
            case WebSocketOpcode.Text:
            case WebSocketOpcode.Binary:
                break;
            case WebSocketOpcode.Close:
            case WebSocketOpcode.Ping:
            case WebSocketOpcode.Pong:
                if (!fin)
                {
                    error = ProtocolError.ControlFrameFragmented;
                    return OperationStatus.InvalidData;
                }

                break;
            default:
                error = ProtocolError.UnknownOpcode;
                return OperationStatus.InvalidData;
        }

        bool masked = (b1 & 0x80) != 0;
        if (masked != requireMask)
        {
            error = requireMask ? ProtocolError.UnmaskedClientFrame : ProtocolError.MaskedServerFrame;
            return OperationStatus.InvalidData;
        }

        int length7 = b1 & 0x7F;
        int headerLength = 2 + (masked ? 4 : 0);
        long payloadLength;
        if (length7 <= 125)
        {
            payloadLength = length7;
        }
        else if (length7 == 126)
        {
            headerLength += 2;
            if (buffer.Length < headerLength)
            {
                return OperationStatus.NeedMoreData;
            }

            payloadLength = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(2));
        }
        else
        {
            headerLength += 8;
            if (buffer.Length < headerLength)
            {
                return OperationStatus.NeedMoreData;
            }

            ulong length64 = BinaryPrimitives.ReadUInt64BigEndian(buffer.Slice(2));
            if ((length64 & 0x8000_0000_0000_0000UL) != 0)
            {
                // §5.2: "the most significant bit MUST be 0".
                error = ProtocolError.PayloadLengthTopBitSet;
                return OperationStatus.InvalidData;
            }

            payloadLength = (long)length64;
        }

        if (payloadLength > MaxControlPayloadLength && ((byte)opcode & 0x8) != 0)
        {
            error = ProtocolError.ControlFrameTooLong;
            return OperationStatus.InvalidData;
        }

        if (buffer.Length < headerLength)
        {
            return OperationStatus.NeedMoreData;
        }

        uint mask = masked ? BinaryPrimitives.ReadUInt32LittleEndian(buffer.Slice(headerLength - 4)) : 0;
        header = new WebSocketFrameHeader(fin, opcode, masked, mask, payloadLength, headerLength);
        return OperationStatus.Done;
    }

    /// <summary>Reads a header that may straddle segments: copies at most 14 bytes to the stack.</summary>
    public static OperationStatus TryRead(in ReadOnlySequence<byte> buffer, bool requireMask, out WebSocketFrameHeader header, out ProtocolError error)
    {
        ReadOnlySpan<byte> first = buffer.FirstSpan;
        if (first.Length >= MaxLength || buffer.IsSingleSegment)
        {
            return TryRead(first, requireMask, out header, out error);
        }

        Span<byte> scratch = stackalloc byte[MaxLength];
        int count = (int)Math.Min(buffer.Length, MaxLength);
        buffer.Slice(0, count).CopyTo(scratch);
        return TryRead(scratch.Slice(0, count), requireMask, out header, out error);
    }

    /// <summary>Bytes a header takes for this payload length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int GetHeaderLength(long payloadLength, bool masked) =>
        (payloadLength <= 125 ? 2 : payloadLength <= ushort.MaxValue ? 4 : 10) + (masked ? 4 : 0);

    /// <summary>
    /// Writes a header into <paramref name="destination"/> (at least <see cref="GetHeaderLength"/> bytes) and returns
    /// its length. A mask is written when <paramref name="maskKey"/> is given (client side).
    /// </summary>
    public static int Write(Span<byte> destination, WebSocketOpcode opcode, bool fin, long payloadLength, uint? maskKey = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
        destination[0] = (byte)((fin ? 0x80 : 0) | (byte)opcode);
        byte maskBit = maskKey.HasValue ? (byte)0x80 : (byte)0;
        int offset;
        if (payloadLength <= 125)
        {
            destination[1] = (byte)(maskBit | payloadLength);
            offset = 2;
        }
        else if (payloadLength <= ushort.MaxValue)
        {
            destination[1] = (byte)(maskBit | 126);
            BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(2), (ushort)payloadLength);
            offset = 4;
        }
        else
        {
            destination[1] = (byte)(maskBit | 127);
            BinaryPrimitives.WriteUInt64BigEndian(destination.Slice(2), (ulong)payloadLength);
            offset = 10;
        }

        if (maskKey.HasValue)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination.Slice(offset), maskKey.Value);
            offset += 4;
        }

        return offset;
    }

    /// <summary>Appends a header to <paramref name="writer"/>.</summary>
    public static void Write(IBufferWriter<byte> writer, WebSocketOpcode opcode, bool fin, long payloadLength, uint? maskKey = null)
    {
        int written = Write(writer.GetSpan(MaxLength), opcode, fin, payloadLength, maskKey);
        writer.Advance(written);
    }
}
