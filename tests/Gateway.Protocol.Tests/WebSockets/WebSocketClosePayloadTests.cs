using System.Buffers;
using Gateway.Protocol.WebSockets;

namespace Gateway.Protocol.Tests.WebSockets;

public class WebSocketClosePayloadTests
{
    [Fact]
    public void TryParse_Empty_ReturnsNoStatus()
    {
        Assert.Equal(ProtocolError.None, WebSocketClosePayload.TryParse([], out ushort code, out ReadOnlySpan<byte> reason));
        Assert.Equal(1005, code);
        Assert.True(reason.IsEmpty);
    }

    [Fact]
    public void TryParse_OneByte_ReturnsInvalidClosePayload()
    {
        // Half a status code.
        Assert.Equal(ProtocolError.InvalidClosePayload, WebSocketClosePayload.TryParse([0x03], out _, out _));
    }

    [Fact]
    public void TryParse_CodeAndReason_ReturnsBoth()
    {
        // 1000 (03 E8), then "bye".
        byte[] payload = [0x03, 0xE8, 0x62, 0x79, 0x65];
        ArraySegment<byte> inside = Shapes.InsideLargerArray(payload);

        Assert.Equal(ProtocolError.None, WebSocketClosePayload.TryParse(inside, out ushort code, out ReadOnlySpan<byte> reason));
        Assert.Equal(1000, code);
        Assert.Equal("bye"u8.ToArray(), reason.ToArray());
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(1001)]
    [InlineData(1002)]
    [InlineData(1003)]
    [InlineData(1007)]
    [InlineData(1008)]
    [InlineData(1009)]
    [InlineData(1010)]
    [InlineData(1011)]
    [InlineData(1012)]
    [InlineData(1013)]
    [InlineData(1014)]
    [InlineData(3000)]
    [InlineData(4000)]
    [InlineData(4999)]
    public void TryParse_ValidCode_ReturnsCode(int value)
    {
        byte[] payload = [(byte)(value >> 8), (byte)value];

        Assert.Equal(ProtocolError.None, WebSocketClosePayload.TryParse(payload, out ushort code, out ReadOnlySpan<byte> reason));
        Assert.Equal(value, code);
        Assert.True(reason.IsEmpty);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(999)]
    [InlineData(1004)]
    [InlineData(1005)]
    [InlineData(1006)]
    [InlineData(1015)]
    [InlineData(1016)]
    [InlineData(2000)]
    [InlineData(2999)]
    [InlineData(5000)]
    [InlineData(65535)]
    public void TryParse_InvalidCode_ReturnsInvalidCloseCode(int value)
    {
        byte[] payload = [(byte)(value >> 8), (byte)value];

        Assert.Equal(ProtocolError.InvalidCloseCode, WebSocketClosePayload.TryParse(payload, out _, out _));
    }

    [Theory]
    // 1000 then a lone FF.
    [InlineData(new byte[] { 0x03, 0xE8, 0xFF })]
    // 1000 then the surrogate U+D800.
    [InlineData(new byte[] { 0x03, 0xE8, 0xED, 0xA0, 0x80 })]
    // 1000 then € cut short.
    [InlineData(new byte[] { 0x03, 0xE8, 0xE2, 0x82 })]
    // 1000 then overlong '/'.
    [InlineData(new byte[] { 0x03, 0xE8, 0xC0, 0xAF })]
    public void TryParse_InvalidUtf8Reason_ReturnsInvalidUtf8(byte[] payload)
    {
        Assert.Equal(ProtocolError.InvalidUtf8, WebSocketClosePayload.TryParse(payload, out _, out _));
    }

    [Fact]
    public void WriteFrame_Unmasked_WritesCloseFrameWithCode()
    {
        var writer = new ArrayBufferWriter<byte>();

        WebSocketClosePayload.WriteFrame(writer, WebSocketCloseCode.NormalClosure);

        // FIN + close, length 2, code 1000.
        Assert.Equal(new byte[] { 0x88, 0x02, 0x03, 0xE8 }, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void WriteFrame_Masked_RoundTripsThroughHeaderAndParse()
    {
        var writer = new ArrayBufferWriter<byte>();

        WebSocketClosePayload.WriteFrame(writer, WebSocketCloseCode.GoingAway, 0x3d21fa37u);

        byte[] frame = writer.WrittenSpan.ToArray();
        Assert.Equal(OperationStatus.Done, WebSocketFrameHeader.TryRead(frame, true, out WebSocketFrameHeader header, out _));
        Assert.Equal(WebSocketOpcode.Close, header.Opcode);
        Assert.Equal(2, header.PayloadLength);
        byte[] body = frame[header.HeaderLength..];
        WebSocketMask.Apply(body, header.MaskKey, 0);
        Assert.Equal(ProtocolError.None, WebSocketClosePayload.TryParse(body, out ushort code, out _));
        Assert.Equal(WebSocketCloseCode.GoingAway, code);
    }

    [Theory]
    [InlineData(ProtocolError.InvalidUtf8, 1007)]
    [InlineData(ProtocolError.MessageTooBig, 1009)]
    [InlineData(ProtocolError.ReservedBitsSet, 1002)]
    [InlineData(ProtocolError.UnmaskedClientFrame, 1002)]
    [InlineData(ProtocolError.InvalidCloseCode, 1002)]
    public void ForError_EachReason_MapsToCloseCode(ProtocolError error, int expected)
    {
        Assert.Equal(expected, WebSocketCloseCode.ForError(error));
    }
}
