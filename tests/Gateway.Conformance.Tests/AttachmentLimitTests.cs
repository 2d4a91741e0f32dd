using System.Text.Json;
using Gateway.Protocol.WebSockets;

namespace Gateway.Conformance.Tests;

/// <summary>
/// socket.io-parser 4.2's <c>maxAttachments</c> (10): a BINARY_EVENT / BINARY_ACK announcing more is a parse error,
/// and socket.io closes the client's Engine.IO connection.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class AttachmentLimitTests(GatewayServer server)
{
    private static string Placeholders(int count) =>
        string.Join(",", Enumerable.Range(0, count).Select(i => $"{{\"_placeholder\":true,\"num\":{i}}}"));

    private async Task<RawClient> ConnectedAsync()
    {
        (RawClient client, _) = await RawClient.OpenWebSocketAsync(server.Port);
        await client.SendTextAsync("40");
        Assert.StartsWith("40{\"sid\":\"", (await client.ReadNonPingFrameAsync()).Text);
        return client;
    }

    [Fact]
    public async Task BinaryEvent_TenAttachments_IsDelivered()
    {
        using RawClient client = await ConnectedAsync();
        string packet = $"4510-[\"echo\",{Placeholders(10)}]";
        await client.SendTextAsync(packet);
        for (byte i = 0; i < 10; i++)
        {
            await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Binary, [i]));
        }

        Assert.Equal(packet, (await client.ReadNonPingFrameAsync()).Text);
        for (byte i = 0; i < 10; i++)
        {
            Assert.Equal([i], (await client.ReadNonPingFrameAsync()).Payload);
        }
    }

    [Theory]
    [InlineData("4511-[\"echo\",{0}]", 11)]
    [InlineData("4611-7[{0}]", 11)]
    [InlineData("45100-[\"echo\",{0}]", 1)]
    public async Task WebSocket_OverMaxAttachments_ClosesConnection(string format, int placeholders)
    {
        RawClient client = await ConnectedAsync();
        await client.SendTextAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, Placeholders(placeholders)));
        // Sentinel: had the packet been accepted, this attachment would be waited for, not answered with a close.
        await client.SendAsync(RawClient.ClientFrame(WebSocketOpcode.Binary, [1]));
        Assert.Equal(WebSocketCloseCode.ProtocolError, await client.ReadCloseAsync());
        Assert.True(await client.WaitForEndAsync());
        client.Dispose();
        await server.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task Polling_OverMaxAttachments_Returns400AndClosesSession()
    {
        using RawClient client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n");
        (_, _, string open) = await client.ReadHttpResponseAsync();
        string sid = JsonDocument.Parse(open.AsMemory(1)).RootElement.GetProperty("sid").GetString()!;
        string url = $"/socket.io/?EIO=4&transport=polling&sid={sid}";
        string body = $"40\u001e4511-[\"echo\",{Placeholders(11)}]";
        await client.SendAsync($"POST {url} HTTP/1.1\r\nHost: x\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        (int status, _, _) = await client.ReadHttpResponseAsync();
        Assert.Equal(400, status);

        using RawClient again = await RawClient.ConnectAsync(server.Port);
        await again.SendAsync($"GET {url} HTTP/1.1\r\nHost: x\r\n\r\n");
        (status, _, string answer) = await again.ReadHttpResponseAsync();
        Assert.Equal((400, "{\"code\":1,\"message\":\"Session ID unknown\"}"), (status, answer));
        await server.AssertNoConnectionsAsync();
    }
}
