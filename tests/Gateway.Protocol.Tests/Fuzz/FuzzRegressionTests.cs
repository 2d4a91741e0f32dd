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
    /// client event ended its connection as a gateway failure (logged at Error). Such text has no UTF-8 form, so the
    /// parser refuses it as malformed text (close 1007 / HTTP 400, README "Bad input"), without an exception.
    /// </summary>
    [Theory]
    [InlineData("325B225C75643830383030222C225C756463303078225D")] // 2["\ud80800","\udc00x"], as shrunk
    [InlineData("325B225C7564383030225D")] // 2["\ud800"]
    [InlineData("325B225C756463303063225D")] // 2["\udc00c"]
    [InlineData("325B2261222C7B225C7564383030223A317D5D")] // 2["a",{"\ud800":1}]
    // 51-["a",{"\udc00":true,"_placeholder":true,"num":0}]
    [InlineData("35312D5B2261222C7B225C7564633030223A747275652C225F706C616365686F6C646572223A747275652C226E756D223A307D5D")]
    // 51-["a",{"\udc00":true,"_placeholder":true,"num":1}]: the surrogate key does not hide the placeholder beside it
    [InlineData("35312D5B2261222C7B225C7564633030223A747275652C225F706C616365686F6C646572223A747275652C226E756D223A317D5D")]
    public void TryParse_EscapedLoneSurrogateInAName_IsRefusedAsInvalidText(string hex)
    {
        byte[] bytes = Convert.FromHexString(hex);

        Assert.Equal(ProtocolError.InvalidUtf8, SocketIOPacketParser.TryParse(bytes, out _));
        FuzzTargets.Find("socketio")!(bytes);
    }
}
