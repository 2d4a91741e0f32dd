using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Gateway.Tests.Redis;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// Admission against the real gateway process: each limit answers its offender with its status (503 + Retry-After,
/// 408, a closed connection) while well-behaved socket.io-client 4.8 sockets (websocket and polling, one Node
/// process) stay connected and keep receiving broadcasts.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class AdmissionEndToEndTests
{
    private const int Viewers = 200;

    /// <summary>A gateway with the given limits and <see cref="Viewers"/> connected viewers (a quarter on polling).</summary>
    private sealed class Show : IAsyncDisposable
    {
        private Show(ServerProcess gateway, RegionClient viewers)
        {
            Gateway = gateway;
            Clients = viewers;
        }

        public ServerProcess Gateway { get; }

        public RegionClient Clients { get; }

        public static async Task<Show> StartAsync(int viewers, params string[] arguments)
        {
            ServerProcess gateway = await ServerProcess.StartAsync(ServerKind.Gateway, ServerProfile.Default, arguments);
            RegionClient clients;
            try
            {
                clients = await RegionClient.StartAsync(TimeSpan.FromMinutes(3));
            }
            catch
            {
                gateway.Dispose();
                throw;
            }

            var show = new Show(gateway, clients);
            if (viewers > 0)
            {
                int polling = viewers / 4;
                await clients.ConnectAsync(gateway.Url, viewers - polling, "websocket");
                JsonElement reply = await clients.SendAsync(
                    "connect", new { url = gateway.Url, count = polling, group = "polling", transports = new[] { "polling" }, timeoutMs = 20000 }, TimeSpan.FromSeconds(40));
                Assert.Equal(polling, reply.GetProperty("connected").GetInt32());
            }

            return show;
        }

        /// <summary>
        /// Every viewer receives a prompt published now (the sentinel: whatever the offender did happened before it)
        /// and none was disconnected.
        /// </summary>
        public async Task AssertViewersUntouchedAsync()
        {
            string tag = "after-" + Guid.NewGuid().ToString("N");
            (System.Net.HttpStatusCode status, string body) = await Gateway.PublishAsync(new { @namespace = "/", channel = (string?)null, @event = "prompt", data = new object[] { new { tag } } });
            Assert.True(status == System.Net.HttpStatusCode.Accepted, body);
            (bool done, string counts) = await Clients.WaitForEventsAsync(null, 1, TimeSpan.FromSeconds(30), tag: tag);
            Assert.True(done, $"not every viewer received the prompt: {counts}");
            SocketReport[] reports = await Clients.ReportAsync();
            SocketReport[] dropped = reports.Where(r => r.Disconnects.Length > 0 || !r.Connected).ToArray();
            Assert.True(dropped.Length == 0, $"{dropped.Length} viewers were disconnected, e.g. {dropped.FirstOrDefault()?.Describe()}");
        }

        /// <summary>
        /// At the cap (RetryAfter 4000): a polling handshake and a direct WebSocket upgrade each get 503 with a
        /// jittered Retry-After and max_connections, counted, and every viewer keeps receiving.
        /// </summary>
        public async Task AssertFullAsync()
        {
            foreach (string request in new[] { RawHttp.PollingHandshake, RawHttp.WebSocketHandshake })
            {
                using Socket late = await RawHttp.ConnectAsync(Gateway.Port);
                await RawHttp.SendAsync(late, request);
                string answer = await RawHttp.ReadResponseAsync(late);
                Assert.StartsWith("HTTP/1.1 503 Service Unavailable\r\n", answer, StringComparison.Ordinal);
                Assert.InRange(RawHttp.RetryAfter(answer), 2, 6);
                Assert.EndsWith("{\"reason\":\"max_connections\"}", answer, StringComparison.Ordinal);
            }

            Assert.Equal(2, await RefusedAsync("max_connections"));
            await AssertViewersUntouchedAsync();
        }

        public async Task<long> RefusedAsync(string reason) =>
            (await Gateway.StatsAsync()).GetProperty("refused").GetProperty(reason).GetInt64();

        public async ValueTask DisposeAsync()
        {
            await Clients.DisposeAsync();
            Gateway.Dispose();
        }
    }

    private static void DisposeAll(IEnumerable<Socket> sockets)
    {
        foreach (Socket socket in sockets)
        {
            socket.Dispose();
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task IdleConnectionsFillingTheCap_ASocketIOClientStillConnects()
    {
        await using Show show = await Show.StartAsync(0, "--Gateway:MaxConnections=400", "--Gateway:Limits:RequestHeadTimeout=2000");
        var idle = new List<Socket>();
        try
        {
            for (int i = 0; i < 400; i++)
            {
                idle.Add(await RawHttp.ConnectAsync(show.Gateway.Port));
            }

            await WaitForAsync(show.Gateway, s => s.GetProperty("admission").GetProperty("tcpConnections").GetInt32() >= 399, "the idle connections filling the cap");

            // The cap is full of connections that sent nothing: a viewer takes the place of the oldest at once.
            var clock = Stopwatch.StartNew();
            await show.Clients.ConnectAsync(show.Gateway.Url, 1, "websocket");
            JsonElement reply = await show.Clients.SendAsync(
                "connect", new { url = show.Gateway.Url, count = 1, group = "polling", transports = new[] { "polling" }, timeoutMs = 20000 }, TimeSpan.FromSeconds(40));
            Assert.Equal(1, reply.GetProperty("connected").GetInt32());
            TimeSpan took = clock.Elapsed;

            // Every idle connection is gone (evicted, or closed at its head deadline) and said nothing first.
            foreach (Socket socket in idle)
            {
                Assert.True(await RawHttp.WaitClosedAsync(socket), "an idle connection was not closed within 30 s");
            }

            JsonElement stats = await show.Gateway.StatsAsync();
            JsonElement refused = stats.GetProperty("refused");
            Assert.Equal(400, refused.GetProperty("evicted_idle").GetInt64() + refused.GetProperty("request_head_timeout").GetInt64());
            Assert.Equal(0, refused.GetProperty("max_connections").GetInt64());
            Assert.True(took < TimeSpan.FromSeconds(30), $"connecting took {took}");
            await show.AssertViewersUntouchedAsync();
        }
        finally
        {
            DisposeAll(idle);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task SlowlorisHeadsAndStalledBodies_AreClosed_TheirMemoryReleased_ViewersKeepReceiving()
    {
        await using Show show = await Show.StartAsync(
            Viewers, "--Gateway:Limits:RequestHeadTimeout=2000", "--Gateway:Limits:RequestBodyTimeout=3000");
        var slowloris = new List<Socket>();
        var stalled = new List<Socket>();
        try
        {
            for (int i = 0; i < 20; i++)
            {
                slowloris.Add(await RawHttp.ConnectAsync(show.Gateway.Port));
                Socket body = await RawHttp.ConnectAsync(show.Gateway.Port);
                // Finding 2: Content-Length 999999, 999,990 bytes, then nothing.
                await RawHttp.SendAsync(body, "POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n");
                await body.SendAsync(new byte[999_990]);
                stalled.Add(body);
            }

            // The slowloris: one byte of a head every 500 ms, until the gateway closes it (2 s after its accept).
            var bytes = "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n"u8.ToArray();
            Task<string>[] answers = slowloris.Select(RawHttp.ReadResponseAsync).ToArray();
            for (int i = 0; i < bytes.Length && !answers.All(a => a.IsCompleted); i++)
            {
                foreach (Socket socket in slowloris)
                {
                    try
                    {
                        await socket.SendAsync(bytes.AsMemory(i, 1));
                    }
                    catch (SocketException)
                    {
                        // closed already
                    }
                }

                await Task.Delay(500); // the pace of the attack, not a wait for a condition
            }

            foreach (string answer in await Task.WhenAll(answers))
            {
                Assert.True(answer is "" || answer.StartsWith("HTTP/1.1 408 Request Timeout", StringComparison.Ordinal), answer);
            }

            foreach (Socket socket in stalled)
            {
                string answer = await RawHttp.ReadResponseAsync(socket);
                Assert.StartsWith("HTTP/1.1 408 Request Timeout", answer, StringComparison.Ordinal);
                Assert.True(await RawHttp.WaitClosedAsync(socket), "a stalled body's connection stayed open");
            }

            JsonElement stats = await WaitForAsync(show.Gateway, s => s.GetProperty("admission").GetProperty("pendingBodyBytes").GetInt64() == 0, "the stalled bodies' reservations released");
            Assert.True(stats.GetProperty("refused").GetProperty("request_head_timeout").GetInt64() >= 20, stats.GetRawText());
            Assert.Equal(20, stats.GetProperty("refused").GetProperty("request_body_timeout").GetInt64());

            string metrics = await show.Gateway.Admin.GetStringAsync("/metrics");
            Assert.Matches("gateway_connections_refused_total\\{[^}]*reason=\"request_body_timeout\"[^}]*\\} 20", metrics);
            await show.AssertViewersUntouchedAsync();
        }
        finally
        {
            DisposeAll(slowloris);
            DisposeAll(stalled);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task AtMaxConnections_PollingHandshakeAndWebSocketUpgrade_Get503WithRetryAfter()
    {
        await using Show show = await Show.StartAsync(0, "--Gateway:MaxConnections=100", "--Gateway:Limits:RetryAfter=4000");
        await show.Clients.ConnectAsync(show.Gateway.Url, 100, "websocket"); // the cap, all viewers

        await show.AssertFullAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task MaxConnections_CountsViewers_SocketIOClientsOfEveryTransportFillItExactly()
    {
        // MaxConnections viewers, whatever their transport: a polling viewer's connections and a socket.io-client
        // upgrading (a polling session, then its WebSocket) are one viewer each, not two or three.
        const int third = 10;
        await using Show show = await Show.StartAsync(0, $"--Gateway:MaxConnections={3 * third}", "--Gateway:Limits:RetryAfter=4000");
        await show.Clients.ConnectAsync(show.Gateway.Url, third, "websocket", batch: 1);
        await show.Clients.ConnectAsync(show.Gateway.Url, third, "polling", batch: 1, transports: new[] { "polling" });
        await show.Clients.ConnectAsync(show.Gateway.Url, third, "upgrading", batch: 1, transports: "default");

        await show.AssertFullAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task AcceptRate_HandshakesBeyondTheBucketGet503_EstablishedSocketsUntouched()
    {
        // 1 token a second: however slowly this machine runs the test (within its timeout), the 200 handshakes at once
        // below outnumber what the viewers left of the burst plus what the rate adds meanwhile.
        const int rate = 1, burst = Viewers + 20, attempts = 200;
        var clock = Stopwatch.StartNew(); // started before the gateway: at least as old as its token bucket
        await using Show show = await Show.StartAsync(Viewers, $"--Gateway:Limits:AcceptRate={rate}", $"--Gateway:Limits:AcceptBurst={burst}");
        string[] answers = await Task.WhenAll(Enumerable.Range(0, attempts).Select(async i =>
        {
            using Socket client = await RawHttp.ConnectAsync(show.Gateway.Port);
            await RawHttp.SendAsync(client, i % 2 == 0 ? RawHttp.PollingHandshake : RawHttp.WebSocketHandshake);
            return await RawHttp.ReadResponseAsync(client);
        }));

        int accepted = 0, refused = 0;
        foreach (string answer in answers)
        {
            if (answer.StartsWith("HTTP/1.1 503", StringComparison.Ordinal))
            {
                Assert.True(RawHttp.RetryAfter(answer) >= 1, answer);
                Assert.EndsWith("{\"reason\":\"accept_rate\"}", answer, StringComparison.Ordinal);
                refused++;
            }
            else
            {
                Assert.Matches("^HTTP/1.1 (200 OK|101 Switching Protocols)", answer);
                accepted++;
            }
        }

        // At most what the viewers left of the burst plus what the rate added since the bucket was made.
        double allowed = burst - Viewers + (rate * clock.Elapsed.TotalSeconds) + 1;
        Assert.True(refused > 0 && accepted <= allowed, $"{accepted} accepted, {refused} refused in {clock.Elapsed}");
        Assert.Equal(refused, await show.RefusedAsync("accept_rate"));
        await show.AssertViewersUntouchedAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task MaxConnectionsPerIp_RefusesOnlyTheAddressOverIt()
    {
        const int perIp = 400; // generous: the viewers of 127.0.0.1 hold ~300 (connections and polling sessions)
        await using Show show = await Show.StartAsync(Viewers, $"--Gateway:Limits:MaxConnectionsPerIp={perIp}", "--Gateway:Limits:RequestHeadTimeout=120000");
        var held = new List<Socket>();
        try
        {
            for (int i = 0; i < perIp; i++)
            {
                held.Add(await RawHttp.ConnectAsync(show.Gateway.Port, "127.0.0.2"));
            }

            await WaitForAsync(show.Gateway, s => s.GetProperty("admission").GetProperty("tcpConnections").GetInt32() >= perIp + (Viewers * 3 / 4), "the held connections counted");
            using Socket over = await RawHttp.ConnectAsync(show.Gateway.Port, "127.0.0.2");
            await RawHttp.SendAsync(over, RawHttp.PollingHandshake);
            string answer = await RawHttp.ReadResponseAsync(over);
            Assert.StartsWith("HTTP/1.1 503 Service Unavailable\r\n", answer, StringComparison.Ordinal);
            Assert.True(RawHttp.RetryAfter(answer) >= 1, answer);
            Assert.EndsWith("{\"reason\":\"max_connections_per_ip\"}", answer, StringComparison.Ordinal);

            using Socket other = await RawHttp.ConnectAsync(show.Gateway.Port, "127.0.0.3");
            await RawHttp.SendAsync(other, RawHttp.PollingHandshake);
            Assert.StartsWith("HTTP/1.1 200 OK", await RawHttp.ReadResponseAsync(other), StringComparison.Ordinal);

            Assert.Equal(1, await show.RefusedAsync("max_connections_per_ip"));
            await show.AssertViewersUntouchedAsync();
        }
        finally
        {
            DisposeAll(held);
        }
    }

    private static async Task<JsonElement> WaitForAsync(ServerProcess gateway, Func<JsonElement, bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        JsonElement stats;
        while (!condition(stats = await gateway.StatsAsync()))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{what}: not so within 30 s; last /v1/stats {stats.GetRawText()}");
            await Task.Delay(20);
        }

        return stats;
    }
}
