using System.Diagnostics;
using System.Text.Json;
using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Protocol.WebSockets;
using Microsoft.Extensions.Configuration;

namespace Gateway.Conformance.Tests;

/// <summary>Server heartbeats, connect timeout, channel-targeted broadcast and the slow-consumer policy.</summary>
[Collection(GatewayCollection.Name)]
public sealed class HeartbeatAndBroadcastTests(GatewayServer server)
{
    [Fact]
    public async Task Heartbeat_PongKeepsSession_SilenceClosesIt()
    {
        long timeoutsBefore = (await server.StatsAsync()).GetProperty("heartbeatTimeouts").GetInt64();
        (RawClient client, _) = await RawClient.OpenWebSocketAsync(server.Port);
        await client.SendTextAsync("40");
        Assert.StartsWith("40", (await client.ReadFrameAsync()).Text);
        var lastPong = Stopwatch.StartNew();
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal("2", (await client.ReadFrameAsync()).Text);
            lastPong.Restart(); // before the pong leaves: the server sees it later, never earlier
            await client.SendTextAsync("3");
        }

        // No pong: closed after pingTimeout. The next ping goes out PingInterval after the server saw the last pong, and
        // the close PingTimeout after that ping: never sooner than PingInterval + PingTimeout after the pong was sent
        // (the same monotonic clock, in this process; 2 ms for the two whole-millisecond readings of the wheel's clock).
        // Measured from when the ping was read instead, a client slow to read it would see the close "too early".
        Assert.Equal("2", (await client.ReadFrameAsync()).Text);
        await client.ReadCloseAsync();
        TimeSpan closedAfter = lastPong.Elapsed;
        Assert.InRange(closedAfter.TotalMilliseconds, GatewayServer.PingInterval + GatewayServer.PingTimeout - 2, GatewayServer.PingInterval + GatewayServer.PingTimeout + 15_000);
        // That the close is the heartbeat's, not one for another reason, the counter says (below), whatever the load;
        // the upper bound above is only generous.
        client.Dispose();
        await server.AssertNoConnectionsAsync();
        JsonElement stats = await server.StatsAsync();
        Assert.True(stats.GetProperty("heartbeatTimeouts").GetInt64() > timeoutsBefore, $"no heartbeat timeout counted: {stats.GetRawText()}");
    }

    [Fact]
    public async Task Polling_SilentSession_IsClosedAfterPingTimeout()
    {
        long timeoutsBefore = (await server.StatsAsync()).GetProperty("heartbeatTimeouts").GetInt64();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        string body = await http.GetStringAsync("/socket.io/?EIO=4&transport=polling");
        string sid = JsonDocument.Parse(body.AsMemory(1)).RootElement.GetProperty("sid").GetString()!;
        // Nobody polls: the session's ping gets no pong and the heartbeat closes it (this collection runs one test at
        // a time, so the counter moves for this session).
        await server.WaitForStatsAsync(s => s.GetProperty("heartbeatTimeouts").GetInt64() > timeoutsBefore, "the silent polling session closed by the heartbeat");
        HttpResponseMessage response = await http.GetAsync($"/socket.io/?EIO=4&transport=polling&sid={sid}");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        await server.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task ConnectTimeout_NoNamespace_ClosesSession()
    {
        // Started before the session exists, so the measured time is never shorter than the server's.
        var started = Stopwatch.StartNew();
        (RawClient client, _) = await RawClient.OpenWebSocketAsync(server.Port);
        using (client)
        {
            // Answering pings is not enough without a namespace.
            while (true)
            {
                RawClient.Frame frame = await client.ReadFrameAsync();
                if (frame.Opcode == WebSocketOpcode.Close)
                {
                    break;
                }

                await client.SendTextAsync("3");
            }

            // Not before ConnectTimeout (2 ms: whole-millisecond clock readings). The upper bound only says "it is this
            // timeout, not something else much later" and is generous: a loaded machine may run the wheel late.
            Assert.InRange(started.Elapsed.TotalMilliseconds, GatewayServer.ConnectTimeout - 2, GatewayServer.ConnectTimeout + 15_000);
        }

        await server.AssertNoConnectionsAsync();
    }

    private Task<RawClient> JoinAsync(string auth, int receiveBufferSize = 0) => RawClient.JoinAsync(server.Port, auth, receiveBufferSize);

    [Fact]
    public async Task Publish_ToChannel_ReachesMembersOnly_ExactlyOnce()
    {
        using RawClient member = await JoinAsync("{\"channels\":[\"show-42\"]}");
        using RawClient outsider = await JoinAsync("{\"channels\":[\"show-7\"]}");
        using RawClient late = await JoinAsync("");
        await late.SendTextAsync("421[\"subscribe\",\"show-42\"]");
        Assert.Equal("431[{\"ok\":true,\"channels\":[\"show-42\"]}]", (await late.ReadNonPingFrameAsync()).Text);

        HttpResponseMessage response = await server.PublishAsync("{\"namespace\":\"/\",\"channel\":\"show-42\",\"event\":\"prompt\",\"data\":[{\"q\":1}]}");
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        JsonElement accepted = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(accepted.GetProperty("sequence").GetInt64() >= 0);
        Assert.Equal("42[\"prompt\",{\"q\":1}]", (await member.ReadNonPingFrameAsync()).Text);
        Assert.Equal("42[\"prompt\",{\"q\":1}]", (await late.ReadNonPingFrameAsync()).Text);

        // The outsider gets only the next whole-namespace message, proving it skipped the channel one.
        await server.PublishAsync("{\"event\":\"all\",\"data\":[2]}");
        Assert.Equal("42[\"all\",2]", (await outsider.ReadNonPingFrameAsync()).Text);
        Assert.Equal("42[\"all\",2]", (await member.ReadNonPingFrameAsync()).Text);

        Assert.Equal("42[\"all\",2]", (await late.ReadNonPingFrameAsync()).Text);
        await late.SendTextAsync("422[\"unsubscribe\",[\"show-42\"]]");
        Assert.Equal("432[{\"ok\":true,\"channels\":[]}]", (await late.ReadNonPingFrameAsync()).Text);
    }

    [Fact]
    public async Task Publish_InvalidBody_Returns400()
    {
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await server.PublishAsync("{\"namespace\":\"/nope\",\"data\":[]}")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await server.PublishAsync("{\"data\":{}}")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await server.PublishAsync("not json")).StatusCode);
    }

    [Theory]
    [InlineData("{\"data\":[],\"sendAhead\":-1}", "sendAhead must be 0")]
    [InlineData("{\"data\":[],\"sendAhead\":\"2s\"}", "sendAhead must be 0")]
    [InlineData("{\"data\":[],\"sendAhead\":600001}", "sendAhead must be 0")]
    [InlineData("{\"data\":[],\"revealIn\":-5}", "not given with revealAt")]
    [InlineData("{\"data\":[],\"revealIn\":\"3s\"}", "not given with revealAt")]
    [InlineData("{\"data\":[],\"revealAt\":\"soon\"}", "revealAt must be milliseconds since the epoch")]
    [InlineData("{\"data\":[],\"revealIn\":1000,\"revealAt\":1764700000000}", "not given with revealAt")]
    public async Task Publish_BadRevealTiming_Returns400WithTheReason(string body, string reason)
    {
        HttpResponseMessage response = await server.PublishAsync(body);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TooManyChannels_IsRefused()
    {
        using RawClient client = await JoinAsync("");
        string many = string.Join(",", Enumerable.Range(0, 33).Select(i => $"\"c{i}\""));
        await client.SendTextAsync($"421[\"subscribe\",[{many}]]");
        Assert.Equal("431[{\"ok\":false,\"error\":\"too many channels\"}]", (await client.ReadNonPingFrameAsync()).Text);

        await client.SendTextAsync($"40/custom,{{\"channels\":[{many}]}}");
        Assert.Equal("44/custom,{\"message\":\"Too many channels\"}", (await client.ReadNonPingFrameAsync()).Text);
    }

    [Fact]
    public async Task SlowConsumer_IsDisconnected_OthersStillServed()
    {
        long before = (await server.StatsAsync()).GetProperty("slowConsumers").GetInt64();
        RawClient stalled = await JoinAsync("", receiveBufferSize: 4096); // never reads again
        // ...but keeps sending pongs unasked, so that only the broadcast backlog, not the heartbeat, can end it.
        using var stop = new CancellationTokenSource();
        Task pongs = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await stalled.SendTextAsync("3");
                    // Pacing, not waiting for anything: a pong every 150 ms (well inside PingTimeout) without flooding.
                    await Task.Delay(150, stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or System.Net.Sockets.SocketException or IOException or ObjectDisposedException)
                {
                    return;
                }
            }
        });
        using RawClient healthy = await JoinAsync("");
        string payload = new('x', 16_000);
        // Three publishes at a time: the stalled socket must be lapped well before its missing pongs (1 s) end it,
        // also on a loaded machine — and the healthy one must stay under MaxOutboundBytes (64 KiB) between drains.
        for (int i = 0; i < 3000; i += 3)
        {
            await Task.WhenAll(Enumerable.Range(i, 3).Select(n => server.PublishAsync($"{{\"event\":\"bulk\",\"data\":[{n},\"{payload}\"]}}")));

            // keep the healthy client drained (and answering pings): read up to a frame of this group
            while (true)
            {
                string text = (await healthy.ReadNonPingFrameAsync()).Text;
                int start = "42[\"bulk\",".Length;
                if (text.StartsWith("42[\"bulk\",", StringComparison.Ordinal) && int.Parse(text.AsSpan(start, text.IndexOf(',', start) - start)) >= i)
                {
                    break;
                }
            }

            if ((await server.StatsAsync()).GetProperty("slowConsumers").GetInt64() > before)
            {
                break;
            }
        }

        Assert.True((await server.StatsAsync()).GetProperty("slowConsumers").GetInt64() > before);
        stop.Cancel();
        await pongs;
        stalled.Dispose();
        await server.PublishAsync("{\"event\":\"after\",\"data\":[]}");
        while ((await healthy.ReadNonPingFrameAsync()).Text != "42[\"after\"]")
        {
        }
    }

    [Fact]
    public async Task Metrics_PrometheusOnAdminPortOnly()
    {
        string text = await server.Admin.GetStringAsync("/metrics");
        Assert.Contains("gateway_connections{", text);
        Assert.Contains("gateway_slow_consumers_total", text);
        using var publicPort = new HttpClient();
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await publicPort.GetAsync($"http://127.0.0.1:{server.Port}/metrics")).StatusCode);
    }

    [Fact]
    public async Task AdminDisconnect_Namespace_SendsDisconnectAndKeepsSession()
    {
        using RawClient client = await JoinAsync("");
        await client.SendTextAsync("40/custom,");
        Assert.StartsWith("40/custom,{\"sid\"", (await client.ReadNonPingFrameAsync()).Text);
        HttpResponseMessage response = await server.Admin.PostAsync("/v1/disconnect", new StringContent("{\"namespace\":\"/custom\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(1, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("disconnected").GetInt32());
        Assert.Equal("41/custom,", (await client.ReadNonPingFrameAsync()).Text);

        // The main namespace is untouched; /custom can be joined again.
        await client.SendTextAsync("421[\"time\"]");
        Assert.StartsWith("431[{\"now\":", (await client.ReadNonPingFrameAsync()).Text);
        await client.SendTextAsync("40/custom,");
        Assert.StartsWith("40/custom,{\"sid\"", (await client.ReadNonPingFrameAsync()).Text);
    }

    [Fact]
    public async Task AdminDisconnect_ClosesEveryTransport()
    {
        RawClient a = await JoinAsync("");
        RawClient b = await JoinAsync("");
        JsonElement result = JsonDocument.Parse(await (await server.Admin.PostAsync("/v1/disconnect", null)).Content.ReadAsStringAsync()).RootElement;
        Assert.True(result.GetProperty("closed").GetInt32() >= 2);
        Assert.Equal(WebSocketCloseCode.NormalClosure, await a.ReadCloseAsync());
        Assert.Equal(WebSocketCloseCode.NormalClosure, await b.ReadCloseAsync());
        a.Dispose();
        b.Dispose();
        await server.AssertNoConnectionsAsync();
    }
}

public sealed class ConfigurationTests
{
    private static GatewayOptions Load(params string[] args) =>
        GatewayApp.LoadOptions(new ConfigurationBuilder().AddCommandLine(args).Build());

    [Theory]
    [InlineData("--Gateway:Port=abc", "Gateway:Port")]
    [InlineData("--Gateway:Port=70000", "Gateway:Port")]
    [InlineData("--Gateway:MaxConnections=-1", "Gateway:MaxConnections")]
    [InlineData("--Gateway:PingInterval=0", "Gateway:PingInterval")]
    [InlineData("--Gateway:Namespaces:0=custom", "Gateway:Namespaces:0")]
    [InlineData("--Gateway:Cors:Origins:0=not a url", "Gateway:Cors:Origins:0")]
    [InlineData("--Gateway:MaxPayload=-1", "Gateway:MaxPayload")]
    [InlineData("--Gateway:Redis:Configuration=127.0.0.1:6379,nosuchoption=1", "Gateway:Redis:Configuration")]
    [InlineData("--Gateway:Recovery:MaxDisconnection=0", "Gateway:Recovery:MaxDisconnection")]
    [InlineData("--Gateway:LateJoin:MaxAge=-5", "Gateway:LateJoin:MaxAge")]
    [InlineData("--Gateway:Redis:PollInterval=0", "Gateway:Redis:PollInterval")]
    [InlineData("--Gateway:Channels:Max=0", "Gateway:Channels:Max")]
    [InlineData("--Gateway:Channels:NewPerSocket=0", "Gateway:Channels:NewPerSocket")]
    [InlineData("--Gateway:Channels:NewPerSecond=-1", "Gateway:Channels:NewPerSecond")]
    [InlineData("--Gateway:HealthPort=-1", "Gateway:HealthPort")]
    [InlineData("--Gateway:HealthPort=3000", "Gateway:HealthPort")]
    [InlineData("--Gateway:HealthPort=3001", "Gateway:HealthPort")]
    [InlineData("--Gateway:ProxyProtocol=maybe", "Gateway:ProxyProtocol")]
    [InlineData("--Gateway:ProxyProtocolTimeout=0", "Gateway:ProxyProtocolTimeout")]
    [InlineData("--Gateway:Drain:Delay=-1", "Gateway:Drain:Delay")]
    [InlineData("--Gateway:Drain:Window=3600001", "Gateway:Drain:Window")]
    [InlineData("--Gateway:Drain:Window=soon", "Gateway:Drain:Window")]
    public void Invalid_FailsNamingTheKey(string arg, string key)
    {
        var error = Assert.Throws<GatewayApp.ConfigurationException>(() => Load(arg));
        Assert.Contains(key, error.Message);
    }

    [Fact]
    public void Defaults_MatchSocketIO()
    {
        GatewayOptions options = Load();
        Assert.Equal((3000, 3001, "/socket.io/", 25000, 20000, 45000, 1_000_000), (options.Port, options.AdminPort, options.Path, options.PingInterval, options.PingTimeout, options.ConnectTimeout, options.MaxPayload));
        Assert.Equal(["/"], options.Namespaces);
        Assert.False(options.RedisMode);
        Assert.Equal(0, options.HealthPort); // off: only the admin port answers health
        Assert.Equal(0, options.LateJoin.MaxAge); // embedded: only what is published next
        Assert.Equal((5000, 30000), (options.Drain.Delay, options.Drain.Window));
    }

    [Fact]
    public void ProxyProtocol_OffByDefault()
    {
        GatewayOptions options = Load();
        Assert.Equal((false, 5000), (options.ProxyProtocol, options.ProxyProtocolTimeout));
        Assert.True(Load("--Gateway:ProxyProtocol=true").ProxyProtocol);
    }

    [Fact]
    public void RedisMode_Defaults()
    {
        GatewayOptions options = Load("--Gateway:Redis:Configuration=127.0.0.1:6379,serviceName=mymaster");
        Assert.True(options.RedisMode);
        Assert.Equal(("gateway:prompts", "gateway:answers", 120_000, 30_000), (options.Redis.PromptStream, options.Redis.AnswerStream, options.Recovery.MaxDisconnection, options.LateJoin.MaxAge));
    }
}
