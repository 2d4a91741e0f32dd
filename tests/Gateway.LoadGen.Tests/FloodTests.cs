using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Protocol.WebSockets;

namespace Gateway.LoadGen.Tests;

/// <summary><c>loadgen flood</c> against our gateway: every attempt answered and counted by status.</summary>
[Trait("Category", "EndToEnd")]
[Collection(LoadGenEndToEnd.Name)]
public class FloodTests
{
    [Theory]
    [InlineData("polling")]
    [InlineData("websocket")]
    public async Task Flood_CapFull_EveryAttemptAnswered503WithRetryAfter(string transport)
    {
        // One WebSocket session holds the only slot: every attempt of the flood is refused at its handshake.
        await using GatewayServer gateway = await GatewayServer.StartAsync("--Gateway:MaxConnections=1");
        using Conn viewer = await OpenWebSocketAsync(gateway.Port);

        FloodReport r = await RunFloodAsync(gateway, transport, "--rate", "100", "--duration", "1s", "--concurrency", "8");

        Assert.Equal(100, r.Attempts + r.Missed);
        Assert.True(r.Attempts > 0);
        Assert.True(r.Errors.Count == 0, "errors: " + string.Join(", ", r.Errors.Select(e => $"{e.Key}={e.Value}")) + " samples: " + string.Join(" | ", r.ErrorSamples.Select(e => $"{e.Key}: {e.Value}")));
        Assert.Equal(r.Attempts, r.Answered);
        string statuses = string.Join(", ", r.ByStatus.Select(kv => $"{kv.Key}={kv.Value}"));
        Assert.True(r.ByStatus.Count == 1 && r.ByStatus.GetValueOrDefault("503") == r.Attempts, $"{r.Attempts} attempts answered {statuses}");
        Assert.Equal(r.Attempts, r.Status503WithRetryAfter);
    }

    [Fact]
    public async Task Flood_OverTheAcceptRate_RefusedAfterTheHead_AdmittedOnesCountedApart()
    {
        // The one token of the bucket goes to the viewer; the flood's handshakes meet the rate (1/s: one may get in).
        await using GatewayServer gateway = await GatewayServer.StartAsync("--Gateway:Limits:AcceptRate=1", "--Gateway:Limits:AcceptBurst=1");
        using Conn viewer = await OpenWebSocketAsync(gateway.Port);

        FloodReport r = await RunFloodAsync(gateway, "websocket", "--rate", "100", "--duration", "1s", "--concurrency", "8");

        Assert.Empty(r.Errors);
        Assert.Equal(r.Attempts, r.Answered);
        long refused = r.ByStatus.GetValueOrDefault("503");
        Assert.True(refused > 0, "nothing refused");
        Assert.Equal(refused, r.Status503WithRetryAfter);
        Assert.Equal(r.Attempts, refused + r.ByStatus.GetValueOrDefault("101"));
    }

    private static async Task<FloodReport> RunFloodAsync(GatewayServer gateway, string transport, params string[] args)
    {
        string path = Path.Combine(Path.GetTempPath(), $"loadgen-flood-{Guid.NewGuid():N}.json");
        try
        {
            int rc = await Program.Main(["flood", "--url", gateway.Url, "--transport", transport, "--timeout", "30s", "--quiet", "--report", path, .. args]);
            Assert.Equal(0, rc);
            return JsonSerializer.Deserialize<FloodReport>(await File.ReadAllTextAsync(path), Report.JsonOptions)!;
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<Conn> OpenWebSocketAsync(int port)
    {
        var target = new IPEndPoint(IPAddress.Loopback, port);
        Conn conn = await Conn.OpenAsync(target, null);
        byte[] key = new byte[WebSocketHandshake.KeyLength];
        WebSocketHandshake.CreateClientKey(key);
        conn.Send(Conn.Ascii(VirtualClient.WebSocketUpgradeRequest("/socket.io/?EIO=4&transport=websocket", Encoding.ASCII.GetString(key), Conn.HostHeader(target))));
        Assert.Equal(101, (await conn.ReadHttpResponseAsync(headOnly: true)).Status);
        return conn;
    }
}
