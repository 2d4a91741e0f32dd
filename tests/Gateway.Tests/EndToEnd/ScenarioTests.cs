using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// The stock socket.io-client 4.8 against both implementations of the contract. Each scenario lives in
/// tests/node/client.mjs, which checks every step and reports them; a failure message lists each check and the
/// Engine.IO packets the client saw.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class ScenarioTests(ServerFarm farm)
{
    public static TheoryData<ServerKind> Servers => new() { ServerKind.Reference, ServerKind.Gateway };

    public static TheoryData<ServerKind, string> ServersAndTransports
    {
        get
        {
            var data = new TheoryData<ServerKind, string>();
            foreach (ServerKind kind in new[] { ServerKind.Reference, ServerKind.Gateway })
            {
                data.Add(kind, "websocket");
                data.Add(kind, "polling");
            }

            return data;
        }
    }

    private async Task<ScenarioResult> RunAsync(ServerKind kind, string scenario, string transport, ServerProfile? profile = null, object? parameters = null)
    {
        ServerProcess server = await farm.GetAsync(kind, profile);
        // A previous test's clients may still be closing; start from an empty server.
        await server.WaitForNoConnectionsAsync(TimeSpan.FromSeconds(30));
        ScenarioResult result = await NodeClient.RunAsync(server, scenario, transport, parameters: parameters);
        Assert.True(result.Ok, $"{kind}: {result.Describe()}\nserver output:\n{server.RecentOutput}");
        await server.AssertNoConnectionsAsync();
        return result;
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task DefaultTransportsUpgradeToWebSocket(ServerKind kind)
    {
        ScenarioResult result = await RunAsync(kind, "transport-default", "default");
        Assert.Equal("polling", result.Observation("initialTransport").GetString());
        Assert.Equal(1, result.Observation("stats").GetProperty("transports").GetProperty("websocket").GetInt32());
    }

    [Theory]
    [MemberData(nameof(ServersAndTransports))]
    public async Task SingleTransport(ServerKind kind, string transport) => await RunAsync(kind, "transport-only", transport);

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task Time(ServerKind kind) => await RunAsync(kind, "time", "websocket");

    [Theory]
    [MemberData(nameof(ServersAndTransports))]
    public async Task AcksBothWays(ServerKind kind, string transport) => await RunAsync(kind, "acks", transport);

    [Theory]
    [MemberData(nameof(ServersAndTransports))]
    public async Task BinaryBothWays(ServerKind kind, string transport) => await RunAsync(kind, "binary", transport);

    [Theory]
    [MemberData(nameof(ServersAndTransports))]
    public async Task CustomAndUnknownNamespaces(ServerKind kind, string transport)
    {
        ScenarioResult result = await RunAsync(kind, "namespaces", transport);
        Assert.Equal("Invalid namespace", result.Observation("unknownNamespaceError").GetProperty("message").GetString());
    }

    [Theory]
    [MemberData(nameof(ServersAndTransports))]
    public async Task NamespacesMultiplexedOnOneManager(ServerKind kind, string transport) => await RunAsync(kind, "multiplex", transport);

    [Theory]
    [MemberData(nameof(ServersAndTransports))]
    public async Task AuthPayload(ServerKind kind, string transport) => await RunAsync(kind, "auth", transport);

    [Theory]
    [MemberData(nameof(ServersAndTransports))]
    public async Task ChannelsViaAuthAndSubscribe(ServerKind kind, string transport) => await RunAsync(kind, "channels", transport);

    /// <summary>Issue 10: a channel's prompt reaches its members or nobody, and names are bounded and reclaimed.</summary>
    [Theory]
    [InlineData("websocket")]
    [InlineData("polling")]
    public async Task ChannelRefusals_NeverWidened_ChurnRefused_OthersStillJoin(string transport)
    {
        await RunAsync(ServerKind.Gateway, "channel-refusals", transport);

        // Counted by reason, in /v1/stats and /metrics (its exporter may answer from its scrape cache for a moment).
        ServerProcess server = await farm.GetAsync(ServerKind.Gateway);
        JsonElement refused = (await server.StatsAsync()).GetProperty("channelsRefused");
        Assert.True(refused.GetProperty("publish_invalid_name").GetInt64() >= 3, refused.GetRawText());
        Assert.True(refused.GetProperty("new_per_socket").GetInt64() >= 1, refused.GetRawText());
        var counted = new System.Text.RegularExpressions.Regex("gateway_channels_refused_total\\{[^}]*reason=\"new_per_socket\"[^}]*\\} [1-9]");
        var clock = Stopwatch.StartNew();
        string metrics;
        while (!counted.IsMatch(metrics = await server.Admin.GetStringAsync("/metrics")))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), metrics);
            await Task.Delay(100);
        }
    }

    [Theory]
    [InlineData(ServerKind.Reference, "default")]
    [InlineData(ServerKind.Reference, "websocket")]
    [InlineData(ServerKind.Reference, "polling")]
    [InlineData(ServerKind.Gateway, "default")]
    [InlineData(ServerKind.Gateway, "websocket")]
    [InlineData(ServerKind.Gateway, "polling")]
    public async Task ReconnectAfterServerDropsTransport(ServerKind kind, string transport) => await RunAsync(kind, "reconnect", transport);

    [Theory]
    [MemberData(nameof(ServersAndTransports))]
    public async Task HeartbeatsKeepIdleConnectionAlive(ServerKind kind, string transport) =>
        await RunAsync(kind, "heartbeat", transport, ServerProfile.FastHeartbeat, new { idleMs = 2000, pingInterval = ServerProfile.FastHeartbeat.PingInterval });

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task AdminEndpoints(ServerKind kind)
    {
        ServerProcess server = await farm.GetAsync(kind);
        using (HttpResponseMessage health = await server.Admin.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        using (HttpResponseMessage ready = await server.Admin.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        (bool zero, string last) = await server.WaitForNoConnectionsAsync(TimeSpan.FromSeconds(30));
        Assert.True(zero, last);
        JsonElement stats = await server.StatsAsync();
        Assert.Equal(0, stats.GetProperty("connections").GetInt64());
        Assert.Equal(0, stats.GetProperty("transports").GetProperty("websocket").GetInt64());
        Assert.Equal(0, stats.GetProperty("transports").GetProperty("polling").GetInt64());
        Assert.Equal(0, stats.GetProperty("namespaces").GetProperty("/").GetInt64());
        Assert.Equal(0, stats.GetProperty("namespaces").GetProperty("/custom").GetInt64());

        (HttpStatusCode status, string body) = await server.PublishAsync(new { @namespace = "/", channel = (string?)null, @event = "prompt", data = new object[] { 1 } });
        Assert.Equal(HttpStatusCode.Accepted, status);
        using JsonDocument first = JsonDocument.Parse(body);
        (status, body) = await server.PublishAsync(new { @namespace = "/", channel = "nobody", @event = "prompt", data = Array.Empty<object>() });
        Assert.Equal(HttpStatusCode.Accepted, status);
        using JsonDocument second = JsonDocument.Parse(body);
        Assert.False(string.IsNullOrEmpty(first.RootElement.GetProperty("id").GetString()));
        Assert.True(second.RootElement.GetProperty("sequence").GetInt64() > first.RootElement.GetProperty("sequence").GetInt64(),
            $"sequence must grow: {first.RootElement.GetRawText()} then {second.RootElement.GetRawText()}");

        using HttpResponseMessage disconnect = await server.Admin.PostAsync("/v1/disconnect", null);
        Assert.Equal(HttpStatusCode.OK, disconnect.StatusCode);
        using JsonDocument closed = JsonDocument.Parse(await disconnect.Content.ReadAsStringAsync());
        Assert.Equal(0, closed.RootElement.GetProperty("closed").GetInt64());
    }

    /// <summary>One admin publish reaches each of 500 channel members exactly once and none of 100 outsiders.</summary>
    [Theory]
    [MemberData(nameof(Servers))]
    public async Task PublishFansOutToChannelMembersOnly(ServerKind kind)
    {
        const int Workers = 2;
        const int MembersPerWorker = 250;
        const int OutsidersPerWorker = 50;
        ServerProcess server = await farm.GetAsync(kind);
        await server.WaitForNoConnectionsAsync(TimeSpan.FromSeconds(30));
        // The fan-out only (publish to the last report), not the start of 600 Node sockets on a machine that may be busy.
        var watch = new Stopwatch();
        var workers = new List<Process>();
        try
        {
            for (int i = 0; i < Workers; i++)
            {
                var psi = NodeClient.StartInfo(server, "fanout-worker", "websocket", 90000, new
                {
                    members = MembersPerWorker, nonMembers = OutsidersPerWorker, channel = "show-42", @event = "prompt", waitMs = 30000, markerEvent = "marker",
                });
                var process = Process.Start(psi)!;
                workers.Add(process);
            }

            foreach (Process worker in workers)
            {
                string? line = await ReadLineAsync(worker, TimeSpan.FromSeconds(30));
                Assert.True(line is not null && line.Contains("\"ready\"", StringComparison.Ordinal),
                    $"{kind}: fan-out worker not ready: {line ?? "(no output)"} {await StderrAsync(worker)}\nserver output:\n{server.RecentOutput}");
            }

            JsonElement stats = await server.StatsAsync();
            Assert.Equal(Workers * (MembersPerWorker + OutsidersPerWorker), stats.GetProperty("connections").GetInt32());

            watch.Start();
            (HttpStatusCode status, string body) = await server.PublishAsync(new
            {
                @namespace = "/", channel = "show-42", @event = "prompt", data = new object[] { new { question = "q-1", options = new[] { "a", "b" } }, 42 },
            });
            Assert.True(status == HttpStatusCode.Accepted, $"{kind}: publish returned {(int)status} {body}");
            // The sentinel: a marker to the whole namespace after the prompt; each worker reports once every client
            // has it (in order on each connection: a copy or a stray prompt would have come before it).
            (status, body) = await server.PublishAsync(new { @namespace = "/", channel = (string?)null, @event = "marker", data = new object[] { "end" } });
            Assert.True(status == HttpStatusCode.Accepted, $"{kind}: marker publish returned {(int)status} {body}");

            foreach (Process worker in workers)
            {
                await worker.StandardInput.WriteLineAsync("report");
                await worker.StandardInput.FlushAsync();
            }

            foreach (Process worker in workers)
            {
                string? line = await ReadLineAsync(worker, TimeSpan.FromSeconds(45));
                Assert.NotNull(line);
                using JsonDocument report = JsonDocument.Parse(line);
                JsonElement r = report.RootElement;
                string text = r.GetRawText();
                Assert.True(r.GetProperty("memberCounts").TryGetProperty("1", out JsonElement once) && once.GetInt32() == MembersPerWorker,
                    $"{kind}: every member must receive the publish exactly once; counts by times received: {text}");
                Assert.True(r.GetProperty("nonMemberCounts").TryGetProperty("0", out JsonElement never) && never.GetInt32() == OutsidersPerWorker,
                    $"{kind}: no outsider may receive it; {text}");
                Assert.Equal(0, r.GetProperty("mismatchedPayloads").GetInt32());
                Assert.True(r.GetProperty("unmarked").GetInt32() == 0, $"{kind}: every client must get the marker published after the prompt; {text}");
                Assert.Equal("[{\"question\":\"q-1\",\"options\":[\"a\",\"b\"]},42]", r.GetProperty("sample").GetRawText());
                Assert.True(r.GetProperty("ok").GetBoolean(), text);
            }

            watch.Stop();
            foreach (Process worker in workers)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await worker.WaitForExitAsync(cts.Token);
            }
        }
        finally
        {
            foreach (Process worker in workers)
            {
                if (!worker.HasExited)
                {
                    worker.Kill(entireProcessTree: true);
                }

                worker.Dispose();
            }
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"{kind}: fan-out took {watch.Elapsed}");
        await server.AssertNoConnectionsAsync();
    }

    private static async Task<string?> ReadLineAsync(Process process, TimeSpan limit)
    {
        using var cts = new CancellationTokenSource(limit);
        try
        {
            return await process.StandardOutput.ReadLineAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static async Task<string> StderrAsync(Process process)
    {
        if (!process.HasExited)
        {
            return "(worker still running)";
        }

        return await process.StandardError.ReadToEndAsync();
    }
}
