using System.Buffers;
using System.Text;
using Gateway.Protocol.EngineIO;

namespace Gateway.Protocol.Tests.EngineIO;

public class EngineIOPacketTests
{
    // Engine.IO v4 protocol examples.
    public static TheoryData<string, EngineIOPacketType, string> ValidPackets => new()
    {
        { "0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}", EngineIOPacketType.Open, "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}" },
        { "1", EngineIOPacketType.Close, "" },
        { "2", EngineIOPacketType.Ping, "" },
        { "2probe", EngineIOPacketType.Ping, "probe" },
        { "3", EngineIOPacketType.Pong, "" },
        { "3probe", EngineIOPacketType.Pong, "probe" },
        { "4hello", EngineIOPacketType.Message, "hello" },
        { "42[\"hello\"]", EngineIOPacketType.Message, "2[\"hello\"]" },
        { "4", EngineIOPacketType.Message, "" },
        { "5", EngineIOPacketType.Upgrade, "" },
        { "6", EngineIOPacketType.Noop, "" },
    };

    [Theory]
    [MemberData(nameof(ValidPackets))]
    public void TryParseText_SpecExample_ReadsTypeAndData(string text, EngineIOPacketType type, string data)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        foreach (ReadOnlyMemory<byte> input in new ReadOnlyMemory<byte>[] { bytes, Shapes.InsideLargerArray(bytes) })
        {
            Assert.Equal(ProtocolError.None, EngineIOPacket.TryParseText(input.Span, out EngineIOPacketType actualType, out ReadOnlySpan<byte> actualData));
            Assert.Equal(type, actualType);
            Assert.Equal(data, Encoding.UTF8.GetString(actualData));
        }
    }

    [Theory]
    [MemberData(nameof(ValidPackets))]
    public void WriteText_SpecExample_ReproducesPacket(string text, EngineIOPacketType type, string data)
    {
        var writer = new ArrayBufferWriter<byte>();

        EngineIOPacket.WriteText(writer, type, Encoding.UTF8.GetBytes(data));

        Assert.Equal(text, Encoding.UTF8.GetString(writer.WrittenSpan));
    }

    [Fact]
    public void TryParseText_Empty_ReturnsEmptyEngineIOPacket()
    {
        Assert.Equal(ProtocolError.EmptyEngineIOPacket, EngineIOPacket.TryParseText([], out _, out _));
    }

    [Theory]
    // '7' (one past noop), '9', '/' (one below '0'), ':' (one above '9'), 'b' (a base64 record: the caller checks it first), NUL, 0xFF.
    [InlineData(new byte[] { 0x37 })]
    [InlineData(new byte[] { 0x39, 0x61 })]
    [InlineData(new byte[] { 0x2F })]
    [InlineData(new byte[] { 0x3A })]
    [InlineData(new byte[] { 0x62, 0x41, 0x51, 0x3D, 0x3D })]
    [InlineData(new byte[] { 0x00 })]
    [InlineData(new byte[] { 0xFF })]
    public void TryParseText_InvalidType_ReturnsInvalidEngineIOPacketType(byte[] packet)
    {
        Assert.Equal(ProtocolError.InvalidEngineIOPacketType, EngineIOPacket.TryParseText(packet, out _, out ReadOnlySpan<byte> data));
        Assert.True(data.IsEmpty);
    }

    [Fact]
    public void WriteBase64Record_SpecExample_WritesBAQIDBA()
    {
        var writer = new ArrayBufferWriter<byte>();

        EngineIOPacket.WriteBase64Record(writer, [1, 2, 3, 4]);

        Assert.Equal("bAQIDBA==", Encoding.ASCII.GetString(writer.WrittenSpan));
        Assert.Equal(writer.WrittenCount, EngineIOPacket.GetBase64RecordLength(4));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 5)]
    [InlineData(3, 5)]
    [InlineData(4, 9)]
    public void GetBase64RecordLength_DataLength_CountsPrefixAndPadding(int length, int expected)
    {
        Assert.Equal(expected, EngineIOPacket.GetBase64RecordLength(length));
    }

    [Theory]
    [InlineData("AQIDBA==", new byte[] { 1, 2, 3, 4 })]
    [InlineData("AQID", new byte[] { 1, 2, 3 })]
    [InlineData("/w==", new byte[] { 0xFF })]
    [InlineData("", new byte[0])]
    public void TryDecodeBase64_SpecRecord_DecodesData(string base64, byte[] expected)
    {
        var writer = new ArrayBufferWriter<byte>();

        Assert.Equal(ProtocolError.None, EngineIOPacket.TryDecodeBase64(Shapes.InsideLargerArray(Encoding.ASCII.GetBytes(base64)), writer));
        Assert.Equal(expected, writer.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData("AQIDBA=")]
    [InlineData("AQIDB")]
    [InlineData("AQ!DBA==")]
    [InlineData("AQ-DBA==")]
    [InlineData("AQIDBA==AQ==")]
    [InlineData("=")]
    public void TryDecodeBase64_Invalid_ReturnsInvalidBase64AndWritesNothing(string base64)
    {
        var writer = new ArrayBufferWriter<byte>();

        Assert.Equal(ProtocolError.InvalidBase64, EngineIOPacket.TryDecodeBase64(Encoding.ASCII.GetBytes(base64), writer));
        Assert.Equal(0, writer.WrittenCount);
    }

    [Fact]
    public void WriteBase64Record_ThenDecode_RoundTripsEveryLength()
    {
        var random = new Random(4);
        for (int length = 0; length < 70; length++)
        {
            byte[] data = new byte[length];
            random.NextBytes(data);
            var record = new ArrayBufferWriter<byte>();
            EngineIOPacket.WriteBase64Record(record, data);
            Assert.Equal(EngineIOPacket.BinaryPrefix, record.WrittenSpan[0]);

            var decoded = new ArrayBufferWriter<byte>();
            Assert.Equal(ProtocolError.None, EngineIOPacket.TryDecodeBase64(record.WrittenSpan[1..], decoded));
            Assert.Equal(data, decoded.WrittenSpan.ToArray());
        }
    }
}
