using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Gateway.Conformance.Tests;

/// <summary>
/// <c>/metrics</c> as Prometheus scrapes it: each metric is present under its exported name and moves when its event
/// happens. Counters only grow, so each test compares with a scrape taken before its own event.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class MetricsTests(GatewayServer server)
{
    [Fact]
    public async Task Scrape_SessionPromptAndClose_MoveTheirMetrics()
    {
        Dictionary<string, double> before = await ScrapeAsync();
        (RawClient client, _) = await RawClient.OpenWebSocketAsync(server.Port);
        using (client)
        {
            await client.SendTextAsync("40");
            Assert.StartsWith("40{\"sid\"", (await client.ReadNonPingFrameAsync()).Text);
            HttpResponseMessage published = await server.PublishAsync("{\"event\":\"metrics\",\"data\":[\"x\"]}");
            Assert.Equal(HttpStatusCode.Accepted, published.StatusCode);
            Assert.Equal("42[\"metrics\",\"x\"]", (await client.ReadNonPingFrameAsync()).Text);

            await WaitForAsync(before, now =>
                Grew(before, now, "gateway_handshake_duration_seconds_count") &&
                Grew(before, now, "gateway_prompt_fanout_duration_seconds_count") &&
                Grew(before, now, "gateway_network_sent_bytes_total") &&
                Grew(before, now, "gateway_network_received_bytes_total") &&
                Grew(before, now, "gateway_sessions_opened_total"));
            await client.SendTextAsync("1"); // Engine.IO close
            await server.AssertNoConnectionsAsync();
        }

        await WaitForAsync(before, now => Grew(before, now, "gateway_sessions_closed_total{reason=\"client_close\"}"));
    }

    [Fact]
    public async Task Scrape_Histograms_HaveTheirBuckets_BuildInfoAndRuntimeMeters()
    {
        // A handshake, and a prompt with no recipient (its fan-out still counts: publish → the pass over it).
        (RawClient client, _) = await RawClient.OpenWebSocketAsync(server.Port);
        client.Dispose();
        string id = "histogram-" + Guid.NewGuid().ToString("N");
        Assert.Equal(HttpStatusCode.Accepted, (await server.PublishAsync($"{{\"channel\":\"nobody-{id}\",\"event\":\"x\",\"data\":[],\"id\":\"{id}\"}}")).StatusCode);
        await server.WaitForCompletePromptAsync(id);
        await server.AssertNoConnectionsAsync();

        Dictionary<string, double> now = await ScrapeAsync();
        // Fan-out buckets from 1 ms to 10 s.
        Assert.Contains("gateway_prompt_fanout_duration_seconds_bucket{le=\"0.001\"}", now.Keys);
        Assert.Contains("gateway_prompt_fanout_duration_seconds_bucket{le=\"10\"}", now.Keys);
        Assert.Contains("gateway_prompt_fanout_duration_seconds_bucket{le=\"+Inf\"}", now.Keys);
        Assert.Contains(now.Keys, k => k.StartsWith("gateway_handshake_duration_seconds_bucket{", StringComparison.Ordinal));
        KeyValuePair<string, double> build = Assert.Single(now, kv => kv.Key.StartsWith("gateway_build_info{", StringComparison.Ordinal));
        Assert.Equal(1, build.Value);
        Assert.Contains("version=", build.Key);
        Assert.Contains(now.Keys, k => k.StartsWith("dotnet_gc_collections_total", StringComparison.Ordinal));
        Assert.Contains(now.Keys, k => k.StartsWith("dotnet_process_cpu_time_seconds_total", StringComparison.Ordinal));
        Assert.Contains("gateway_ring_lag", now.Keys);
        Assert.Contains("gateway_pool_rented_buffers", now.Keys);
        Assert.Contains("gateway_pool_rented_bytes", now.Keys);
    }

    [Fact]
    public async Task Scrape_PollingUpgrade_CountsAnUpgrade()
    {
        Dictionary<string, double> before = await ScrapeAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        string body = await http.GetStringAsync("/socket.io/?EIO=4&transport=polling");
        string sid = JsonDocument.Parse(body.AsMemory(1)).RootElement.GetProperty("sid").GetString()!;
        (RawClient ws, _) = await RawClient.OpenWebSocketAsync(server.Port, $"EIO=4&transport=websocket&sid={sid}");
        using (ws)
        {
            await ws.SendTextAsync("2probe");
            Assert.Equal("3probe", (await ws.ReadFrameAsync()).Text);
            await ws.SendTextAsync("5");
            await server.WaitForStatsAsync(s => s.GetProperty("transports").GetProperty("websocket").GetInt64() == 1, "the session on WebSocket");
            await WaitForAsync(before, now => Grew(before, now, "gateway_sessions_upgraded_total"));
        }

        await server.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task Scrape_ReaderBehindTheRing_RingLagAboveZero_ThenBackToZero()
    {
        // A gateway of its own whose heartbeat never fires: the stalled client need not answer pings.
        await using GatewayServer quiet = await GatewayServer.StartQuietAsync();
        // A client that never reads: once the kernel's buffers are full its flush stays pending and its cursor stays
        // behind the ring's head. Each prompt is waited for (complete in /v1/prompts: every fan-out worker has passed
        // it) before the lag is read, and publishing stops as soon as it shows, long before the ring could lap it.
        (RawClient stalled, _) = await RawClient.OpenWebSocketAsync(quiet.Port, receiveBufferSize: 4096);
        await stalled.SendTextAsync("40");
        Assert.StartsWith("40{\"sid\"", (await stalled.ReadNonPingFrameAsync()).Text);
        string big = new('x', 16_000);
        long lag = 0;
        for (int i = 0; i < 2000 && lag == 0; i++)
        {
            string id = "lag-" + Guid.NewGuid().ToString("N");
            Assert.Equal(HttpStatusCode.Accepted, (await quiet.PublishAsync($"{{\"event\":\"big\",\"data\":[\"{big}\"],\"id\":\"{id}\"}}")).StatusCode);
            await quiet.WaitForCompletePromptAsync(id);
            lag = (await quiet.StatsAsync()).GetProperty("ringLag").GetInt64();
        }

        Assert.True(lag > 0, "the stalled reader never fell behind");
        await WaitForAsync(quiet, null, now => now.GetValueOrDefault("gateway_ring_lag") > 0);
        stalled.Dispose();
        await quiet.AssertNoConnectionsAsync();
        // The fan-out's next pass (within its 1 s housekeeping) no longer meets the closed reader.
        await WaitForAsync(quiet, null, now => now.GetValueOrDefault("gateway_ring_lag", -1) == 0);
    }

    [Fact]
    public async Task MetricsDisabled_MetricsNotFound_StatsStillCount()
    {
        await using GatewayServer off = await GatewayServer.StartWithAsync("--Gateway:Metrics:Enabled=false");
        (RawClient client, _) = await RawClient.OpenWebSocketAsync(off.Port);
        using (client)
        {
            await client.SendTextAsync("40");
            Assert.StartsWith("40{\"sid\"", (await client.ReadNonPingFrameAsync()).Text);
            Assert.Equal(HttpStatusCode.Accepted, (await off.PublishAsync("{\"event\":\"off\",\"data\":[1]}")).StatusCode);
            Assert.Equal("42[\"off\",1]", (await client.ReadNonPingFrameAsync()).Text);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await off.Admin.GetAsync("/metrics")).StatusCode);
        await off.WaitForStatsAsync(s => s.GetProperty("published").GetInt64() == 1, "the publish counted in /v1/stats");
        await off.AssertNoConnectionsAsync();
    }

    private static bool Grew(Dictionary<string, double> before, Dictionary<string, double> now, string key) =>
        now.TryGetValue(key, out double value) && value > before.GetValueOrDefault(key);

    /// <summary>Scrapes until <paramref name="condition"/> holds (the exporter may serve a cached scrape for a moment).</summary>
    private Task WaitForAsync(Dictionary<string, double>? before, Func<Dictionary<string, double>, bool> condition) =>
        WaitForAsync(server, before, condition);

    private static async Task WaitForAsync(GatewayServer server, Dictionary<string, double>? before, Func<Dictionary<string, double>, bool> condition)
    {
        var clock = Stopwatch.StartNew();
        Dictionary<string, double> now;
        while (!condition(now = await ScrapeAsync(server)))
        {
            Assert.True(clock.Elapsed < GatewayServer.Deadline, "metrics did not move within the deadline:\n" +
                string.Join("\n", now.Where(kv => kv.Key.StartsWith("gateway_", StringComparison.Ordinal))
                    .Select(kv => $"{kv.Key} {kv.Value} (before {before?.GetValueOrDefault(kv.Key)})")));
            await Task.Delay(100);
        }
    }

    /// <summary>The exposition as "name{labels}" → value (labels as the exporter wrote them).</summary>
    private Task<Dictionary<string, double>> ScrapeAsync() => ScrapeAsync(server);

    private static async Task<Dictionary<string, double>> ScrapeAsync(GatewayServer server)
    {
        string text = await server.Admin.GetStringAsync("/metrics");
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            // name{labels} value [timestamp]: the value follows the label set (label values may hold spaces).
            int labelsEnd = line.LastIndexOf('}');
            int space = line.IndexOf(' ', labelsEnd < 0 ? 0 : labelsEnd);
            string[] rest = line[(space + 1)..].Split(' ');
            samples[StripTargetLabels(line[..space])] = double.Parse(rest[0], CultureInfo.InvariantCulture);
        }

        return samples;
    }

    // The exporter adds otel_scope_* labels to every sample; the tests name metrics without them.
    private static string StripTargetLabels(string key)
    {
        int open = key.IndexOf('{');
        if (open < 0)
        {
            return key;
        }

        string[] labels = key[(open + 1)..^1].Split(',').Where(l => l.Length > 0 && !l.StartsWith("otel_scope_", StringComparison.Ordinal)).ToArray();
        return labels.Length == 0 ? key[..open] : $"{key[..open]}{{{string.Join(",", labels)}}}";
    }
}
