using System.Text.Json;

namespace Gateway.Conformance.Tests;

/// <summary>
/// Admission on raw TCP against the real gateway: finding 5 of issue 10 (pipelined handshakes on one connection
/// opened unlimited sessions) and cross-site WebSocket hijacking (an upgrade from a foreign Origin).
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class AdmissionTests(GatewayServer server)
{
    private const string Handshake = "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n";

    [Fact]
    public async Task PipelinedHandshakes_OnOneConnection_OpenAFewSessions_ThenA503WithRetryAfterEndsTheConnection()
    {
        long openedBefore = (await server.StatsAsync()).GetProperty("refused").GetProperty("handshakes_per_connection").GetInt64();
        using RawClient client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync(string.Concat(Enumerable.Repeat(Handshake, 1000)));
        var statuses = new List<int>();
        string last = "";
        while (statuses.Count == 0 || statuses[^1] == 200)
        {
            (int status, string head, string body) = await client.ReadHttpResponseAsync();
            statuses.Add(status);
            last = head + body;
        }

        Assert.Equal([200, 200, 200, 200, 503], statuses);
        Assert.Contains("Retry-After: ", last);
        Assert.EndsWith("{\"reason\":\"handshakes_per_connection\"}", last);
        Assert.True(await client.WaitForEndAsync(), "the connection stayed open after the 503");
        JsonElement stats = await server.StatsAsync();
        Assert.Equal(openedBefore + 1, stats.GetProperty("refused").GetProperty("handshakes_per_connection").GetInt64());
    }

    [Theory]
    [InlineData("http://evil.example", 403)]
    [InlineData("http://allowed.example", 101)]
    public async Task UpgradeOfAPollingSession_FromAForeignOrigin_Gets403_TheSessionStays(string origin, int expected)
    {
        using RawClient polling = await RawClient.ConnectAsync(server.Port);
        await polling.SendAsync(Handshake);
        (int status, _, string body) = await polling.ReadHttpResponseAsync();
        Assert.Equal(200, status);
        string sid = JsonDocument.Parse(body.AsMemory(1)).RootElement.GetProperty("sid").GetString()!;

        using RawClient upgrade = await RawClient.ConnectAsync(server.Port);
        await upgrade.SendAsync($"GET /socket.io/?EIO=4&transport=websocket&sid={sid} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Origin: {origin}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        string head = await upgrade.ReadHttpHeadAsync();
        Assert.StartsWith($"HTTP/1.1 {expected} ", head);

        // The session itself is untouched by a refused upgrade (and by a probe not yet completed): a POST on it is accepted.
        using RawClient post = await RawClient.ConnectAsync(server.Port);
        await post.SendAsync($"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n6");
        (int postStatus, _, _) = await post.ReadHttpResponseAsync();
        Assert.Equal(200, postStatus);
    }
}
