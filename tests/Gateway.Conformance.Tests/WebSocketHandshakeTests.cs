namespace Gateway.Conformance.Tests;

/// <summary>RFC 6455 §4.2.2 / §4.4: the opening handshake's version negotiation.</summary>
[Collection(GatewayCollection.Name)]
public sealed class WebSocketHandshakeTests(GatewayServer server)
{
    [Theory]
    [InlineData("Sec-WebSocket-Version: 8\r\n", 426)]
    [InlineData("Sec-WebSocket-Version: 14\r\n", 426)]
    [InlineData("Sec-WebSocket-Version: 13, 8\r\n", 426)]
    [InlineData("", 400)] // no version at all: a malformed handshake
    public async Task Handshake_UnsupportedVersion_IsRefusedNamingVersion13(string versionHeader, int expectedStatus)
    {
        using RawClient client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync($"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{versionHeader}\r\n");
        (int status, string head, string body) = await client.ReadHttpResponseAsync();
        Assert.Equal(expectedStatus, status);
        Assert.StartsWith(expectedStatus == 426 ? "HTTP/1.1 426 Upgrade Required\r\n" : "HTTP/1.1 400 Bad Request\r\n", head);
        Assert.Contains("\r\nSec-WebSocket-Version: 13\r\n", head);
        Assert.Equal("Missing or invalid Sec-WebSocket-Version header", body);
        Assert.True(await client.WaitForEndAsync());
        await server.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task Upgrade_UnsupportedVersion_IsRefused_SessionStaysOnPolling()
    {
        using RawClient http = await RawClient.ConnectAsync(server.Port);
        await http.SendAsync("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n");
        (_, _, string open) = await http.ReadHttpResponseAsync();
        string sid = System.Text.Json.JsonDocument.Parse(open.AsMemory(1)).RootElement.GetProperty("sid").GetString()!;

        using RawClient upgrade = await RawClient.ConnectAsync(server.Port);
        await upgrade.SendAsync($"GET /socket.io/?EIO=4&transport=websocket&sid={sid} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n\r\n");
        (int status, string head, _) = await upgrade.ReadHttpResponseAsync();
        Assert.Equal(426, status);
        Assert.Contains("\r\nSec-WebSocket-Version: 13\r\n", head);

        // The session is untouched: still polling.
        await http.SendAsync($"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1");
        Assert.Equal((200, "ok"), Pick(await http.ReadHttpResponseAsync()));
    }

    private static (int, string) Pick((int Status, string Head, string Body) response) => (response.Status, response.Body);
}
