using System.Buffers;
using System.Text;
using Gateway.Protocol.EngineIO;

namespace Gateway.Protocol.Tests.EngineIO;

public class EngineIOPollingPayloadTests
{
    private static List<string> Records(ReadOnlySpan<byte> payload)
    {
        var records = new List<string>();
        foreach (ReadOnlySpan<byte> record in EngineIOPollingPayload.Split(payload))
        {
            records.Add(Encoding.ASCII.GetString(record));
        }

        return records;
    }

    [Fact]
    public void Split_SpecExample_YieldsThreeRecords()
    {
        // 4hello RS 4world RS bAQIDBA==
        byte[] payload = Shapes.Latin1("4hello\u001e4world\u001ebAQIDBA==");

        Assert.Equal(["4hello", "4world", "bAQIDBA=="], Records(payload));
        Assert.Equal(["4hello", "4world", "bAQIDBA=="], Records(Shapes.InsideLargerArray(payload)));
    }

    [Fact]
    public void Split_SpecExampleRecords_DecodeToPackets()
    {
        byte[] payload = Shapes.Latin1("4hello\u001e4world\u001ebAQIDBA==");
        var texts = new List<string>();
        byte[]? binary = null;
        foreach (ReadOnlySpan<byte> record in EngineIOPollingPayload.Split(payload))
        {
            if (record[0] == EngineIOPacket.BinaryPrefix)
            {
                var writer = new ArrayBufferWriter<byte>();
                Assert.Equal(ProtocolError.None, EngineIOPacket.TryDecodeBase64(record[1..], writer));
                binary = writer.WrittenSpan.ToArray();
                continue;
            }

            Assert.Equal(ProtocolError.None, EngineIOPacket.TryParseText(record, out EngineIOPacketType type, out ReadOnlySpan<byte> data));
            Assert.Equal(EngineIOPacketType.Message, type);
            texts.Add(Encoding.ASCII.GetString(data));
        }

        Assert.Equal(["hello", "world"], texts);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, binary);
    }

    [Fact]
    public void Split_SingleRecord_YieldsIt()
    {
        Assert.Equal(["42[\"hello\"]"], Records("42[\"hello\"]"u8));
    }

    [Fact]
    public void Split_Empty_YieldsNothing()
    {
        Assert.Empty(Records([]));
    }

    [Fact]
    public void Split_EmptyRecords_YieldsThemForTheParserToRefuse()
    {
        // RS 2 RS RS: empty, "2", empty, empty.
        Assert.Equal(["", "2", "", ""], Records(Shapes.Latin1("\u001e2\u001e\u001e")));
        Assert.Equal(ProtocolError.EmptyEngineIOPacket, EngineIOPacket.TryParseText([], out _, out _));
    }

    [Fact]
    public void AppendRecord_SpecRecords_JoinsWithSeparator()
    {
        var writer = new ArrayBufferWriter<byte>();

        EngineIOPollingPayload.AppendRecord(writer, "4hello"u8, first: true);
        EngineIOPollingPayload.AppendRecord(writer, "4world"u8, first: false);
        EngineIOPollingPayload.AppendRecord(writer, "bAQIDBA=="u8, first: false);

        Assert.Equal(Shapes.Latin1("4hello\u001e4world\u001ebAQIDBA=="), writer.WrittenSpan.ToArray());
    }
}
