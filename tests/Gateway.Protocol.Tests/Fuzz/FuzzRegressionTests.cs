using System.Text;
using Gateway.Fuzz;
using Gateway.Protocol.SocketIO;

namespace Gateway.Protocol.Tests.Fuzz;

/// <summary>Every input the fuzzing found a crash with, as it was found (shrunk), and its neighbours.</summary>
[Trait("Category", "FuzzRegression")]
public sealed class FuzzRegressionTests
{
    /// <summary>
    /// Found by FuzzTargetTests (socketio, CsCheck seed dgEIOyQ39qo3): an event name or property name holding an escaped
    /// lone surrogate made Utf8JsonReader.ValueTextEquals throw InvalidOperationException out of the parser, so one
    /// client event ended its connection as a gateway failure (logged at Error). JSON.parse keeps lone surrogates,
    /// so socket.io takes these packets: the name is simply not a reserved one, the key not "_placeholder".
    /// </summary>
    [Theory]
    [InlineData("325B225C75643830383030222C225C756463303078225D", SocketIOPacketType.Event, 0)] // 2["\ud80800","\udc00x"], as shrunk
    [InlineData("325B225C7564383030225D", SocketIOPacketType.Event, 0)] // 2["\ud800"]
    [InlineData("325B225C756463303063225D", SocketIOPacketType.Event, 0)] // 2["\udc00c"]
    [InlineData("325B2261222C7B225C7564383030223A317D5D", SocketIOPacketType.Event, 0)] // 2["a",{"\ud800":1}]
    // 51-["a",{"\udc00":true,"_placeholder":true,"num":0}]
    [InlineData("35312D5B2261222C7B225C7564633030223A747275652C225F706C616365686F6C646572223A747275652C226E756D223A307D5D", SocketIOPacketType.BinaryEvent, 1)]
    public void TryParse_EscapedLoneSurrogateInAName_IsAnOrdinaryPacket(string hex, SocketIOPacketType type, int attachments)
    {
        byte[] bytes = Convert.FromHexString(hex);

        Assert.Equal(ProtocolError.None, SocketIOPacketParser.TryParse(bytes, out SocketIOPacket packet));
        Assert.Equal((type, attachments), (packet.Type, packet.Attachments));
        FuzzTargets.Find("socketio")!(bytes);
    }

    [Fact]
    public void TryParse_EscapedLoneSurrogatePlaceholderIndexOutOfRange_StillRefused()
    {
        // The surrogate key does not hide the real placeholder beside it.
        byte[] bytes = Encoding.ASCII.GetBytes("51-[\"a\",{\"\\udc00\":true,\"_placeholder\":true,\"num\":1}]");

        Assert.Equal(ProtocolError.InvalidAttachments, SocketIOPacketParser.TryParse(bytes, out _));
    }
}
