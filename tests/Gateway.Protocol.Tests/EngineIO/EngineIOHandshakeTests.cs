using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Protocol.EngineIO;

namespace Gateway.Protocol.Tests.EngineIO;

public class EngineIOHandshakeTests
{
    [Fact]
    public void WriteOpenPacket_SpecExample_ProducesEngineIOOpenPacket()
    {
        var writer = new ArrayBufferWriter<byte>();

        EngineIOHandshake.WriteOpenPacket(writer, "lv_VI97HAXpY6yYWAAAC", true, 25000, 20000, 1000000);

        Assert.Equal("0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}", Encoding.ASCII.GetString(writer.WrittenSpan));
    }

    [Fact]
    public void WriteOpenPacket_NoUpgrade_OffersEmptyUpgradesAndParses()
    {
        var writer = new ArrayBufferWriter<byte>();

        EngineIOHandshake.WriteOpenPacket(writer, "abc", false, 300, 200, 1000000);

        Assert.Equal(ProtocolError.None, EngineIOPacket.TryParseText(writer.WrittenSpan, out EngineIOPacketType type, out ReadOnlySpan<byte> data));
        Assert.Equal(EngineIOPacketType.Open, type);
        using JsonDocument json = JsonDocument.Parse(data.ToArray());
        Assert.Equal("abc", json.RootElement.GetProperty("sid").GetString());
        Assert.Equal(0, json.RootElement.GetProperty("upgrades").GetArrayLength());
        Assert.Equal(300, json.RootElement.GetProperty("pingInterval").GetInt32());
        Assert.Equal(200, json.RootElement.GetProperty("pingTimeout").GetInt32());
        Assert.Equal(1000000, json.RootElement.GetProperty("maxPayload").GetInt32());
    }
}
