using System.Buffers;
using Gateway.Protocol.WebSockets;

namespace Gateway.Protocol.Tests.WebSockets;

public class WebSocketFrameHeaderTests
{
    // A valid header: the bytes (header only), who reads it, and what it must decode to.
    public static TheoryData<string, byte[], bool, bool, WebSocketOpcode, bool, uint, long> ValidHeaders => new()
    {
        // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
        { "unmasked Hello", [0x81, 0x05], false, true, WebSocketOpcode.Text, false, 0u, 5L },
        // RFC 6455 §5.7: a single-frame masked text message "Hello" (mask 37 fa 21 3d).
        { "masked Hello", [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d], true, true, WebSocketOpcode.Text, true, 0x3d21fa37u, 5L },
        // RFC 6455 §5.7: first fragment of an unmasked text message "Hel".
        { "fragment Hel", [0x01, 0x03], false, false, WebSocketOpcode.Text, false, 0u, 3L },
        // RFC 6455 §5.7: final continuation fragment "lo".
        { "continuation lo", [0x80, 0x02], false, true, WebSocketOpcode.Continuation, false, 0u, 2L },
        // RFC 6455 §5.7: unmasked Ping "Hello".
        { "unmasked ping", [0x89, 0x05], false, true, WebSocketOpcode.Ping, false, 0u, 5L },
        // RFC 6455 §5.7: masked Pong "Hello".
        { "masked pong", [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d], true, true, WebSocketOpcode.Pong, true, 0x3d21fa37u, 5L },
        // RFC 6455 §5.7: 256 bytes binary message in a single unmasked frame (16-bit length).
        { "256 bytes", [0x82, 0x7E, 0x01, 0x00], false, true, WebSocketOpcode.Binary, false, 0u, 256L },
        // RFC 6455 §5.7: 64 KiB binary message in a single unmasked frame (64-bit length).
        { "64 KiB", [0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00], false, true, WebSocketOpcode.Binary, false, 0u, 65536L },
        // The same 64 KiB frame as a client sends it (masked, 14-byte header).
        { "64 KiB masked", [0x82, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04], true, true, WebSocketOpcode.Binary, true, 0x04030201u, 65536L },
        // Empty masked close frame.
        { "empty close", [0x88, 0x80, 0xAA, 0xBB, 0xCC, 0xDD], true, true, WebSocketOpcode.Close, true, 0xDDCCBBAAu, 0L },
        // Control frame of exactly 125 bytes (the limit).
        { "ping 125", [0x89, 0xFD, 0x00, 0x00, 0x00, 0x00], true, true, WebSocketOpcode.Ping, true, 0u, 125L },
        // Largest 16-bit length.
        { "65535 bytes", [0x02, 0x7E, 0xFF, 0xFF], false, false, WebSocketOpcode.Binary, false, 0u, 65535L },
        // Largest 64-bit length (top bit clear).
        { "2^63-1 bytes", [0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], false, true, WebSocketOpcode.Binary, false, 0u, long.MaxValue },
    };

    [Theory]
    [MemberData(nameof(ValidHeaders))]
    public void TryRead_ValidHeaderSpan_ReadsEveryField(string name, byte[] bytes, bool requireMask, bool fin, WebSocketOpcode opcode, bool masked, uint maskKey, long length)
    {
        _ = name;
        OperationStatus status = WebSocketFrameHeader.TryRead(bytes, requireMask, out WebSocketFrameHeader header, out ProtocolError error);

        Assert.Equal(OperationStatus.Done, status);
        Assert.Equal(ProtocolError.None, error);
        AssertHeader(header, bytes.Length, fin, opcode, masked, maskKey, length);
    }

    [Theory]
    [MemberData(nameof(ValidHeaders))]
    public void TryRead_ValidHeaderInsideLargerArray_ReadsOnlyTheHeader(string name, byte[] bytes, bool requireMask, bool fin, WebSocketOpcode opcode, bool masked, uint maskKey, long length)
    {
        _ = name;
        ArraySegment<byte> inside = Shapes.InsideLargerArray(bytes);
        // Followed by payload bytes: the header must not take them in.
        byte[] withPayload = [.. bytes, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];

        Assert.Equal(OperationStatus.Done, WebSocketFrameHeader.TryRead(inside.AsSpan(), requireMask, out WebSocketFrameHeader header, out ProtocolError error));
        Assert.Equal(ProtocolError.None, error);
        AssertHeader(header, bytes.Length, fin, opcode, masked, maskKey, length);

        Assert.Equal(OperationStatus.Done, WebSocketFrameHeader.TryRead(withPayload, requireMask, out header, out error));
        Assert.Equal(ProtocolError.None, error);
        AssertHeader(header, bytes.Length, fin, opcode, masked, maskKey, length);
    }

    [Theory]
    [MemberData(nameof(ValidHeaders))]
    public void TryRead_ValidHeaderSequenceInEveryShape_ReadsEveryField(string name, byte[] bytes, bool requireMask, bool fin, WebSocketOpcode opcode, bool masked, uint maskKey, long length)
    {
        _ = name;
        byte[] withPayload = [.. bytes, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        foreach (byte[] input in new[] { bytes, withPayload })
        {
            foreach ((string shape, ReadOnlySequence<byte> sequence) in Shapes.Sequences(input))
            {
                OperationStatus status = WebSocketFrameHeader.TryRead(sequence, requireMask, out WebSocketFrameHeader header, out ProtocolError error);

                Assert.True(status == OperationStatus.Done, shape);
                Assert.Equal(ProtocolError.None, error);
                AssertHeader(header, bytes.Length, fin, opcode, masked, maskKey, length);
            }
        }
    }

    [Theory]
    [MemberData(nameof(ValidHeaders))]
    public void TryRead_EveryStrictPrefix_NeedsMoreDataAndConsumesNothing(string name, byte[] bytes, bool requireMask, bool fin, WebSocketOpcode opcode, bool masked, uint maskKey, long length)
    {
        _ = (name, fin, opcode, masked, maskKey, length);
        for (int prefix = 0; prefix < bytes.Length; prefix++)
        {
            byte[] part = bytes[..prefix];
            Assert.Equal(OperationStatus.NeedMoreData, WebSocketFrameHeader.TryRead(part, requireMask, out WebSocketFrameHeader header, out ProtocolError error));
            Assert.Equal(ProtocolError.None, error);
            Assert.Equal(0, header.HeaderLength);

            foreach ((string shape, ReadOnlySequence<byte> sequence) in Shapes.Sequences(part))
            {
                Assert.True(WebSocketFrameHeader.TryRead(sequence, requireMask, out header, out error) == OperationStatus.NeedMoreData, $"prefix {prefix}, {shape}");
                Assert.Equal(ProtocolError.None, error);
                Assert.Equal(0, header.HeaderLength);
            }
        }
    }

    // A bad header: the bytes, who reads it, and the reason.
    public static TheoryData<string, byte[], bool, ProtocolError> InvalidHeaders => new()
    {
        // FIN + RSV1 + text, masked, length 5, mask.
        { "RSV1", [0xC1, 0x85, 0x37, 0xfa, 0x21, 0x3d], true, ProtocolError.ReservedBitsSet },
        // FIN + RSV2 + text.
        { "RSV2", [0xA1, 0x85, 0x37, 0xfa, 0x21, 0x3d], true, ProtocolError.ReservedBitsSet },
        // FIN + RSV3 + binary.
        { "RSV3", [0x92, 0x85, 0x37, 0xfa, 0x21, 0x3d], true, ProtocolError.ReservedBitsSet },
        // FIN + all RSV + ping, checked before the opcode.
        { "RSV all", [0xF9, 0x80, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.ReservedBitsSet },
        // FIN + reserved non-control opcode 3..7.
        { "opcode 3", [0x83, 0x80, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.UnknownOpcode },
        { "opcode 4", [0x84, 0x80, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.UnknownOpcode },
        { "opcode 5", [0x85, 0x80, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.UnknownOpcode },
        { "opcode 6", [0x86, 0x80, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.UnknownOpcode },
        { "opcode 7", [0x87, 0x80, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.UnknownOpcode },
        // FIN + reserved control opcode B..F.
        { "opcode B", [0x8B, 0x80, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.UnknownOpcode },
        { "opcode C", [0x8C, 0x80, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.UnknownOpcode },
        { "opcode D", [0x8D, 0x80, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.UnknownOpcode },
        { "opcode E", [0x8E, 0x80, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.UnknownOpcode },
        { "opcode F", [0x8F, 0x80, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.UnknownOpcode },
        // FIN + ping, masked, 16-bit length 126.
        { "ping 126", [0x89, 0xFE, 0x00, 0x7E, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.ControlFrameTooLong },
        // FIN + close, masked, 64-bit length 65536.
        { "close 64 KiB", [0x88, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.ControlFrameTooLong },
        // FIN + pong, unmasked (client side), 16-bit length 0xFFFF.
        { "pong 65535", [0x8A, 0x7E, 0xFF, 0xFF], false, ProtocolError.ControlFrameTooLong },
        // No FIN + close.
        { "fragmented close", [0x08, 0x80, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.ControlFrameFragmented },
        // No FIN + ping.
        { "fragmented ping", [0x09, 0x85, 0x37, 0xfa, 0x21, 0x3d], true, ProtocolError.ControlFrameFragmented },
        // No FIN + pong.
        { "fragmented pong", [0x0A, 0x80, 0x00, 0x00, 0x00, 0x00], true, ProtocolError.ControlFrameFragmented },
        // FIN + binary, masked, 64-bit length with the most significant bit set.
        { "length top bit", [0x82, 0xFF, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04], true, ProtocolError.PayloadLengthTopBitSet },
        // FIN + binary, unmasked, 64-bit length 0xFFFF_FFFF_FFFF_FFFF.
        { "length all ones", [0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], false, ProtocolError.PayloadLengthTopBitSet },
        // RFC 6455 §5.7 unmasked "Hello" received by the server.
        { "unmasked client", [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f], true, ProtocolError.UnmaskedClientFrame },
        // Unmasked empty close received by the server.
        { "unmasked client close", [0x88, 0x00], true, ProtocolError.UnmaskedClientFrame },
        // RFC 6455 §5.7 masked "Hello" received by a client.
        { "masked server", [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d], false, ProtocolError.MaskedServerFrame },
    };

    [Theory]
    [MemberData(nameof(InvalidHeaders))]
    public void TryRead_InvalidHeader_ReturnsReason(string name, byte[] bytes, bool requireMask, ProtocolError expected)
    {
        _ = name;
        Assert.Equal(OperationStatus.InvalidData, WebSocketFrameHeader.TryRead(bytes, requireMask, out WebSocketFrameHeader header, out ProtocolError error));
        Assert.Equal(expected, error);
        Assert.Equal(0, header.HeaderLength);
    }

    [Theory]
    [MemberData(nameof(InvalidHeaders))]
    public void TryRead_InvalidHeaderSequenceInEveryShape_ReturnsReason(string name, byte[] bytes, bool requireMask, ProtocolError expected)
    {
        _ = name;
        foreach ((string shape, ReadOnlySequence<byte> sequence) in Shapes.Sequences(bytes))
        {
            Assert.True(WebSocketFrameHeader.TryRead(sequence, requireMask, out _, out ProtocolError error) == OperationStatus.InvalidData, shape);
            Assert.Equal(expected, error);
        }
    }

    [Fact]
    public void TryRead_SequenceLongerThanMaxHeaderAcrossSegments_ReadsHeader()
    {
        // FIN + binary, masked, 64-bit length 70000, mask 01 02 03 04, then payload, split inside the length.
        byte[] bytes = [0x82, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x11, 0x70, 0x01, 0x02, 0x03, 0x04, 0xAA, 0xBB, 0xCC];
        ReadOnlySequence<byte> sequence = TestSequenceSegment.Create(bytes.AsMemory(0, 5), bytes.AsMemory(5, 7), bytes.AsMemory(12));

        Assert.Equal(OperationStatus.Done, WebSocketFrameHeader.TryRead(sequence, true, out WebSocketFrameHeader header, out ProtocolError error));
        Assert.Equal(ProtocolError.None, error);
        AssertHeader(header, 14, true, WebSocketOpcode.Binary, true, 0x04030201u, 70000L);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(125L)]
    [InlineData(126L)]
    [InlineData(256L)]
    [InlineData(65535L)]
    [InlineData(65536L)]
    [InlineData(4294967296L)]
    [InlineData(long.MaxValue)]
    public void Write_ThenTryRead_RoundTripsAtEveryLengthClass(long length)
    {
        foreach (uint? mask in new uint?[] { null, 0x3d21fa37u })
        {
            foreach (bool fin in new[] { true, false })
            {
                byte[] buffer = new byte[WebSocketFrameHeader.MaxLength];
                int written = WebSocketFrameHeader.Write(buffer, WebSocketOpcode.Binary, fin, length, mask);

                Assert.Equal(WebSocketFrameHeader.GetHeaderLength(length, mask.HasValue), written);
                Assert.Equal(OperationStatus.Done, WebSocketFrameHeader.TryRead(buffer.AsSpan(0, written), mask.HasValue, out WebSocketFrameHeader header, out ProtocolError error));
                Assert.Equal(ProtocolError.None, error);
                AssertHeader(header, written, fin, WebSocketOpcode.Binary, mask.HasValue, mask ?? 0, length);
            }
        }
    }

    [Fact]
    public void Write_Rfc6455Examples_ProducesSpecBytes()
    {
        byte[] buffer = new byte[WebSocketFrameHeader.MaxLength];

        int n = WebSocketFrameHeader.Write(buffer, WebSocketOpcode.Text, true, 5);
        Assert.Equal(new byte[] { 0x81, 0x05 }, buffer[..n]);

        n = WebSocketFrameHeader.Write(buffer, WebSocketOpcode.Text, true, 5, 0x3d21fa37u);
        Assert.Equal(new byte[] { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d }, buffer[..n]);

        n = WebSocketFrameHeader.Write(buffer, WebSocketOpcode.Text, false, 3);
        Assert.Equal(new byte[] { 0x01, 0x03 }, buffer[..n]);

        n = WebSocketFrameHeader.Write(buffer, WebSocketOpcode.Continuation, true, 2);
        Assert.Equal(new byte[] { 0x80, 0x02 }, buffer[..n]);

        n = WebSocketFrameHeader.Write(buffer, WebSocketOpcode.Ping, true, 5);
        Assert.Equal(new byte[] { 0x89, 0x05 }, buffer[..n]);

        n = WebSocketFrameHeader.Write(buffer, WebSocketOpcode.Binary, true, 256);
        Assert.Equal(new byte[] { 0x82, 0x7E, 0x01, 0x00 }, buffer[..n]);

        n = WebSocketFrameHeader.Write(buffer, WebSocketOpcode.Binary, true, 65536);
        Assert.Equal(new byte[] { 0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00 }, buffer[..n]);
    }

    [Fact]
    public void Write_BufferWriter_AppendsHeader()
    {
        var writer = new ArrayBufferWriter<byte>();
        writer.Write(new byte[] { 0xAB });

        WebSocketFrameHeader.Write(writer, WebSocketOpcode.Binary, true, 256, 0x04030201u);

        Assert.Equal(new byte[] { 0xAB, 0x82, 0xFE, 0x01, 0x00, 0x01, 0x02, 0x03, 0x04 }, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Write_NegativeLength_Throws()
    {
        byte[] buffer = new byte[WebSocketFrameHeader.MaxLength];
        Assert.Throws<ArgumentOutOfRangeException>(() => WebSocketFrameHeader.Write(buffer, WebSocketOpcode.Binary, true, -1));
    }

    [Theory]
    [InlineData(0L, false, 2)]
    [InlineData(125L, false, 2)]
    [InlineData(126L, false, 4)]
    [InlineData(65535L, false, 4)]
    [InlineData(65536L, false, 10)]
    [InlineData(0L, true, 6)]
    [InlineData(126L, true, 8)]
    [InlineData(65536L, true, 14)]
    public void GetHeaderLength_EachLengthClass_ReturnsWireSize(long length, bool masked, int expected)
    {
        Assert.Equal(expected, WebSocketFrameHeader.GetHeaderLength(length, masked));
    }

    [Theory]
    [InlineData(WebSocketOpcode.Continuation, false)]
    [InlineData(WebSocketOpcode.Text, false)]
    [InlineData(WebSocketOpcode.Binary, false)]
    [InlineData(WebSocketOpcode.Close, true)]
    [InlineData(WebSocketOpcode.Ping, true)]
    [InlineData(WebSocketOpcode.Pong, true)]
    public void IsControl_EachOpcode_MatchesRfc(WebSocketOpcode opcode, bool expected)
    {
        var header = new WebSocketFrameHeader(true, opcode, false, 0, 0, 2);
        Assert.Equal(expected, header.IsControl);
    }

    private static void AssertHeader(in WebSocketFrameHeader header, int headerLength, bool fin, WebSocketOpcode opcode, bool masked, uint maskKey, long length)
    {
        Assert.Equal(headerLength, header.HeaderLength);
        Assert.Equal(fin, header.Fin);
        Assert.Equal(opcode, header.Opcode);
        Assert.Equal(masked, header.Masked);
        Assert.Equal(maskKey, header.MaskKey);
        Assert.Equal(length, header.PayloadLength);
    }
}
