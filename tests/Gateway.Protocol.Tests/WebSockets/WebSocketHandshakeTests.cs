using System.Text;
using Gateway.Protocol.WebSockets;

namespace Gateway.Protocol.Tests.WebSockets;

public class WebSocketHandshakeTests
{
    [Fact]
    public void ComputeAcceptKey_Rfc6455Example_ReturnsSpecAcceptKey()
    {
        byte[] accept = new byte[WebSocketHandshake.AcceptKeyLength];

        WebSocketHandshake.ComputeAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="u8, accept);

        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", Encoding.ASCII.GetString(accept));
    }

    [Theory]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ==", true)]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA==", true)]
    [InlineData("++//++//++//++//++//++==", true)]
    [InlineData("", false)]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ=", false)]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ===", false)]
    [InlineData("dGhlIHNhbXBsZSBub25jZQQQ", false)]
    [InlineData("dGhlIHNhbXBsZSBub25jZ===", false)]
    [InlineData("dGhlIHNhbXBsZSBub25jZ-==", false)]
    [InlineData("dGhlIHNhbXBsZSBub25jZ_==", false)]
    [InlineData("dGhlIHNhbXBsZSBub25j Q==", false)]
    public void IsValidKey_Key_MatchesWsRule(string key, bool expected)
    {
        Assert.Equal(expected, WebSocketHandshake.IsValidKey(Encoding.ASCII.GetBytes(key)));
    }

    [Fact]
    public void CreateClientKey_TwoCalls_ReturnValidDistinctKeys()
    {
        byte[] a = new byte[WebSocketHandshake.KeyLength];
        byte[] b = new byte[WebSocketHandshake.KeyLength];

        WebSocketHandshake.CreateClientKey(a);
        WebSocketHandshake.CreateClientKey(b);

        Assert.True(WebSocketHandshake.IsValidKey(a));
        Assert.True(WebSocketHandshake.IsValidKey(b));
        Assert.NotEqual(a, b);
    }
}
