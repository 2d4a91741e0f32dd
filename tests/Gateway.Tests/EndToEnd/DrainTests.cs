using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Gateway.Tests.Redis;
using Xunit.Abstractions;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// The paced drain of a gateway process with real socket.io-client 4.8 sockets (tests/node/region-client.mjs):
/// SIGTERM during a burst of prompts, and the operator's <c>POST /v1/drain</c> / <c>/v1/undrain</c>.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class DrainTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>How long a test waits for something that must happen: generous, for a loaded machine.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly List<IAsyncDisposable> _clients = [];
    private readonly List<ServerProcess> _servers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (IAsyncDisposable client in _clients)
        {
            await client.DisposeAsync();
        }

        foreach (ServerProcess server in _servers)
        {
            server.Dispose();
        }
    }

    private async Task<ServerProcess> GatewayAsync(params string[] arguments)
    {
        ServerProcess server = await ServerProcess.StartAsync(ServerKind.Gateway, ServerProfile.Default, arguments);
        _servers.Add(server);
        return server;
    }

    private async Task<RegionClient> ClientAsync()
    {
        RegionClient client = await RegionClient.StartAsync(TimeSpan.FromSeconds(100));
        _clients.Add(client);
        return client;
    }

    private static async Task ConnectAsync(RegionClient client, string url, int count, string group, string transport)
    {
        JsonElement reply = await client.SendAsync(
            "connect", new { url, count, group, transports = new[] { transport }, batch = 20, timeoutMs = 10000 }, TimeSpan.FromSeconds(30));
        Assert.True(reply.GetProperty("connected").GetInt32() == count, $"{transport}: {reply.GetRawText()}");
    }

    /// <summary>
    /// Publishes prompts {"tag", "n": 0, 1, 2, …} one after the other (every 20 ms) until the admin port stops answering
    /// or <paramref name="stop"/> is cancelled; records the n of every prompt answered 202 and when it was sent.
    /// </summary>
    private sealed class Burst(ServerProcess server, string tag)
    {
        private readonly List<(int N, long SentAt)> _accepted = [];

        public IReadOnlyList<(int N, long SentAt)> Accepted
        {
            get
            {
                lock (_accepted)
                {
                    return _accepted.ToArray();
                }
            }
        }

        public async Task RunAsync(CancellationToken stop)
        {
            for (int n = 0; !stop.IsCancellationRequested; n++)
            {
                long sentAt = Stopwatch.GetTimestamp();
                try
                {
                    (HttpStatusCode status, _) = await server.PublishAsync(new { data = new object[] { new { tag, n } } });
                    if (status != HttpStatusCode.Accepted)
                    {
                        return;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return; // the gateway is gone
                }

                lock (_accepted)
                {
                    _accepted.Add((n, sentAt));
                }

                await Task.Delay(20, CancellationToken.None);
            }
        }
    }

    private static int[] PromptNumbers(SocketReport socket, string tag) =>
        socket.Prompts(tag).Select(e => int.Parse(e.Field("n")!, CultureInfo.InvariantCulture)).ToArray();

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient http, string url)
    {
        using HttpResponseMessage res = await http.GetAsync(url);
        return (res.StatusCode, await res.Content.ReadAsStringAsync());
    }

    private static async Task<JsonElement> PostAsync(ServerProcess server, string path, HttpStatusCode expected)
    {
        using HttpResponseMessage res = await server.Admin.PostAsync(path, null);
        string body = await res.Content.ReadAsStringAsync();
        Assert.True(res.StatusCode == expected, $"POST {path}: {(int)res.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<JsonElement> DrainStatsAsync(ServerProcess server) => (await server.StatsAsync()).GetProperty("drain");

    /// <summary>A polling handshake: status and the Retry-After header (seconds), if any.</summary>
    private static async Task<(HttpStatusCode Status, int? RetryAfter)> PollingHandshakeAsync(ServerProcess server)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using HttpResponseMessage res = await http.GetAsync($"{server.Url}/socket.io/?EIO=4&transport=polling");
        return (res.StatusCode, res.Headers.RetryAfter?.Delta is TimeSpan delta ? (int)delta.TotalSeconds : null);
    }

    /// <summary>A direct WebSocket handshake on a raw socket: the response head as received (the gateway closes after it).</summary>
    private static async Task<string> WebSocketHandshakeAsync(ServerProcess server)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.Port);
        NetworkStream stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        using var cts = new CancellationTokenSource(Deadline);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await stream.ReadAsync(buffer, cts.Token)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }

    private static void AssertRefusedWhileDraining((HttpStatusCode Status, int? RetryAfter) polling, string webSocket)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, polling.Status);
        Assert.True(polling.RetryAfter is >= 1, $"polling handshake: Retry-After {polling.RetryAfter?.ToString(CultureInfo.InvariantCulture) ?? "missing"}");
        Assert.StartsWith("HTTP/1.1 503 ", webSocket, StringComparison.Ordinal);
        Assert.Contains("\r\nRetry-After: ", webSocket, StringComparison.Ordinal);
        Assert.DoesNotContain("101 Switching Protocols", webSocket, StringComparison.Ordinal);
    }

    // ------------------------------------------------------------------------------------------------------------
    // SIGTERM during a burst: /readyz 503 at once, handshakes 503 + Retry-After, closes spread over the window, no
    // prompt lost for the sockets still open, exit 0 once the last one is closed.
    // ------------------------------------------------------------------------------------------------------------

    [Fact(Timeout = 120_000)]
    public async Task Sigterm_DuringABurst_ClosesSpreadOverTheWindow_NoPromptLost_Exits0()
    {
        const int webSockets = 30, pollingSockets = 10, total = webSockets + pollingSockets, windowMs = 5000;
        ServerProcess gateway = await GatewayAsync($"--Gateway:Drain:Window={windowMs}", "--Gateway:Drain:Delay=0");
        RegionClient client = await ClientAsync();
        await ConnectAsync(client, gateway.Url, webSockets, "websocket", "websocket");
        await ConnectAsync(client, gateway.Url, pollingSockets, "polling", "polling");

        string tag = $"burst-{Guid.NewGuid():N}"[..14];
        var burst = new Burst(gateway, tag);
        using var stopBurst = new CancellationTokenSource();
        Task publishing = burst.RunAsync(stopBurst.Token);
        (bool flowing, string counts) = await client.WaitForEventsAsync(null, 20, Deadline, tag: tag);
        Assert.True(flowing, $"the burst did not reach every socket: {counts}");

        gateway.Terminate();
        TimeSpan? notReady = await RedisRegion.WaitForReadyzAsync(gateway, HttpStatusCode.ServiceUnavailable, Deadline);
        Assert.True(notReady is not null, $"/readyz did not turn 503 after SIGTERM\n{gateway.RecentOutput}");
        // n + 1 may be in flight since before the SIGTERM; n + 2 is sent after readiness was seen 503.
        int firstAfterNotReady = burst.Accepted.Count == 0 ? 1 : burst.Accepted[^1].N + 2;
        JsonElement drain = await DrainStatsAsync(gateway);
        Assert.True(drain.GetProperty("shutdown").GetBoolean(), drain.GetRawText());
        Assert.Equal("stopping", JsonDocument.Parse((await RedisRegion.ReadyzAsync(gateway)).Body).RootElement.GetProperty("status").GetString());
        AssertRefusedWhileDraining(await PollingHandshakeAsync(gateway), await WebSocketHandshakeAsync(gateway));

        int? exitCode = await gateway.WaitForExitAsync(Deadline);
        Assert.True(exitCode == 0, $"the gateway should exit 0 by itself after the drain; exit code {exitCode?.ToString(CultureInfo.InvariantCulture) ?? "none (still running)"}\n{gateway.RecentOutput}");
        await stopBurst.CancelAsync();
        await publishing;

        SocketReport[] sockets = await client.ReportAsync();
        Assert.Equal(total, sockets.Length);
        var closedAt = new List<long>();
        int gotPromptsPublishedDuringTheDrain = 0;
        foreach (SocketReport socket in sockets)
        {
            // Connected once (reconnections met the drain's 503, then a closed port), closed once.
            Assert.True(socket.Connects.Length == 1 && socket.Disconnects.Length >= 1, socket.Describe());
            closedAt.Add(socket.Disconnects[0].T);

            // No prompt lost while the socket was open: exactly 0, 1, …, m in order, each once.
            int[] numbers = PromptNumbers(socket, tag);
            Assert.True(numbers.SequenceEqual(Enumerable.Range(0, numbers.Length)), $"prompts n = [{string.Join(",", numbers)}]\n{socket.Describe()}");
            Assert.True(numbers.Length >= 20, socket.Describe());
            if (numbers.Length > firstAfterNotReady)
            {
                gotPromptsPublishedDuringTheDrain++;
            }
        }

        // Sentinel for "prompts keep reaching sockets not yet closed": some got a prompt published after readiness
        // went 503, and every socket's prompts stayed gapless up to its own close.
        Assert.True(gotPromptsPublishedDuringTheDrain > 0, $"no socket got a prompt published during the drain (first such n = {firstAfterNotReady})");

        // Spread over the window (5 s; coarse bounds for a loaded machine): not all in one 500 ms, the last at least
        // half a window after the first.
        closedAt.Sort();
        long spread = closedAt[^1] - closedAt[0];
        int busiestHalfSecond = closedAt.GroupBy(t => (t - closedAt[0]) / 500).Max(g => g.Count());
        output.WriteLine(string.Join(", ", sockets.Select(s => $"{s.Group[0]}{s.Disconnects[0].T - closedAt[0]}:{s.Disconnects[0].Reason}").Order()));
        output.WriteLine($"closes over {spread} ms; busiest 500 ms: {busiestHalfSecond} of {total}; {gotPromptsPublishedDuringTheDrain} sockets got prompts published during the drain; {burst.Accepted.Count} prompts accepted");
        Assert.True(spread >= windowMs / 2, $"closes spread over {spread} ms only (window {windowMs} ms): {string.Join(", ", closedAt.Select(t => t - closedAt[0]))}");
        Assert.True(busiestHalfSecond < total, $"every close in the same 500 ms: {string.Join(", ", closedAt.Select(t => t - closedAt[0]))}");
    }

    // ------------------------------------------------------------------------------------------------------------
    // POST /v1/drain without exiting, progress in /v1/stats and /metrics, /v1/undrain stops it.
    // ------------------------------------------------------------------------------------------------------------

    [Fact(Timeout = 120_000)]
    public async Task AdminDrain_ReadyzStays503UntilUndrain_UndrainKeepsTheSocketsLeft()
    {
        const int count = 20;
        // A long window: the test undrains in the middle of it.
        ServerProcess gateway = await GatewayAsync("--Gateway:Drain:Window=60000", "--Gateway:Drain:Delay=0");
        RegionClient client = await ClientAsync();
        await ConnectAsync(client, gateway.Url, count, "websocket", "websocket");

        JsonElement started = await PostAsync(gateway, "/v1/drain", HttpStatusCode.Accepted);
        Assert.Equal("closing", started.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await RedisRegion.ReadyzAsync(gateway)).Status);
        Assert.Equal("draining", JsonDocument.Parse((await RedisRegion.ReadyzAsync(gateway)).Body).RootElement.GetProperty("status").GetString());
        AssertRefusedWhileDraining(await PollingHandshakeAsync(gateway), await WebSocketHandshakeAsync(gateway));
        // A second drain request changes nothing.
        Assert.Equal("closing", (await PostAsync(gateway, "/v1/drain", HttpStatusCode.OK)).GetProperty("state").GetString());

        // Wait for a few turns (one every 3 s), then undrain.
        var clock = Stopwatch.StartNew();
        JsonElement drain;
        while ((drain = await DrainStatsAsync(gateway)).GetProperty("closed").GetInt64() < 2)
        {
            Assert.True(clock.Elapsed < Deadline, $"the drain closed fewer than 2 sockets within {Deadline}: {drain.GetRawText()}");
            await Task.Delay(50);
        }

        string metrics = await gateway.Admin.GetStringAsync("/metrics");
        Assert.Matches(@"(?m)^gateway_drain_remaining(\{[^}]*\})? ([1-9][0-9]*)", metrics);
        Assert.Matches(@"(?m)^gateway_drain_closed(_total)?(\{[^}]*\})? [1-9]", metrics);

        JsonElement undrained = await PostAsync(gateway, "/v1/undrain", HttpStatusCode.OK);
        Assert.Equal("serving", undrained.GetProperty("state").GetString());
        long closed = undrained.GetProperty("closed").GetInt64();
        Assert.Equal(HttpStatusCode.OK, (await RedisRegion.ReadyzAsync(gateway)).Status);

        // The sockets left stay and keep receiving (the marker prompt reaches each of them), the drained ones come
        // back by themselves (new sessions are welcome again), and nothing more is closed.
        Assert.True(await client.WaitConnectedAsync(null, Deadline), "the drained sockets did not reconnect after the undrain");
        (HttpStatusCode status, _) = await gateway.PublishAsync(new { data = new object[] { new { tag = "after-undrain" } } });
        Assert.Equal(HttpStatusCode.Accepted, status);
        (bool done, string counts) = await client.WaitForEventsAsync(null, 1, Deadline, tag: "after-undrain");
        Assert.True(done, $"the prompt after the undrain did not reach every socket: {counts}");
        SocketReport[] sockets = await client.ReportAsync();
        Assert.Equal(closed, sockets.Count(s => s.Disconnects.Length > 0));
        Assert.All(sockets.Where(s => s.Disconnects.Length == 0), s => Assert.Single(s.Connects));
        JsonElement after = await DrainStatsAsync(gateway);
        Assert.Equal(("serving", closed, 0L), (after.GetProperty("state").GetString(), after.GetProperty("closed").GetInt64(), after.GetProperty("remaining").GetInt64()));

        await client.DisconnectAsync();
        await gateway.AssertNoConnectionsAsync();
    }
}
