using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Gateway.Tests.Redis;
using Xunit.Abstractions;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// The soak: a gateway process in Redis mode (a real <c>redis-server</c>) under connect/disconnect churn of stock
/// socket.io-client 4.8 sockets (tests/node/soak.mjs: WebSocket, polling and polling → upgrade; client closes,
/// transport closes that recover, TCP resets) while prompts are published and every socket answers each one, all at
/// once, in rounds. After every round, once the gateway is quiet (no socket, no TCP connection): no pooled buffer is
/// still rented, and the managed heap (as of its last collection) and the RSS after each later round stay within a
/// generous bound of the warm-up rounds' (JIT, pools, thread pool). Bounded: about 1.5 minutes (five rounds of 12 s).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class SoakTests(ITestOutputHelper output)
{
    /// <summary>How long a condition may take to come true on a loaded machine.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private const int Rounds = 5;

    /// <summary>Rounds that warm the gateway up (JIT tiers, pools, the GC's heap sizing): the last one is the reference.</summary>
    private const int WarmUpRounds = 2;
    private const int RoundMs = 12_000;
    private const int Sockets = 40;

    // Flat: a later round's figure is at most the warm-up's plus 30 % plus a few MB. Generous, as it must be: with no
    // way to force a collection, the heap is the one the last collection left (gen2 garbage included until a full
    // one), and rounds of the same work measured 14–23 MB. A leak of 16 KB or more a session fails it by the last round
    // (about 1,300 sessions after the warm-up); pooled buffers are checked exactly, by their count.
    private const double Growth = 1.3;
    private const long HeapSlackBytes = 16L << 20;
    private const long RssSlackBytes = 32L << 20;

    [Fact]
    public async Task Churn_WithBroadcastsAndAnswers_LeavesNoSocketNoRentedBuffer_AndFlatMemory()
    {
        using RedisServer redis = await RedisServer.StartAsync();
        // A 2 s heartbeat: a polling session whose client went away without its close packet ends within 4 s.
        using ServerProcess gateway = await ServerProcess.StartAsync(ServerKind.Gateway, ServerProfile.Default,
            ["--Gateway:Redis:Configuration=" + redis.Configuration, "--Gateway:PingInterval=2000", "--Gateway:PingTimeout=2000"]);

        var samples = new List<Sample>();
        for (int round = 0; round < Rounds; round++)
        {
            using var roundOver = new CancellationTokenSource();
            Task<ScenarioResult> churn = NodeClient.RunScriptAsync(ChurnStartInfo(gateway), "soak.mjs", RoundMs + 45_000);
            Task<int> publishing = PublishUntilAsync(gateway, round, roundOver.Token);
            ScenarioResult result;
            try
            {
                result = await churn;
            }
            finally
            {
                await roundOver.CancelAsync();
            }

            int published = await publishing;
            JsonElement tally = result.Json;
            output.WriteLine($"round {round}: {published} prompts published; client tally {tally.GetRawText()}");
            Assert.True(result.Ok, $"soak.mjs failed (exit {result.ExitCode}): {tally.GetRawText()}");
            Assert.True(tally.GetProperty("connects").GetInt32() >= Sockets, $"too few connects: {tally.GetRawText()}");
            Assert.True(tally.GetProperty("prompts").GetInt32() > 0, $"no prompt reached the churning sockets: {tally.GetRawText()}");
            Assert.True(tally.GetProperty("acks").TryGetProperty("ok", out JsonElement stored) && stored.GetInt32() > 0,
                $"no answer was stored: {tally.GetRawText()}");
            Assert.Equal(0, tally.GetProperty("open").GetInt32());

            samples.Add(await QuietSampleAsync(gateway, round));
        }

        Sample warm = samples[WarmUpRounds - 1];
        foreach (Sample later in samples.Skip(WarmUpRounds))
        {
            Assert.True(later.HeapBytes <= warm.HeapBytes * Growth + HeapSlackBytes,
                $"managed heap grew: after the warm-up {Mb(warm.HeapBytes)}, after round {later.Round} {Mb(later.HeapBytes)}\n{Describe(samples)}");
            Assert.True(later.RssBytes <= warm.RssBytes * Growth + RssSlackBytes,
                $"RSS grew: after the warm-up {Mb(warm.RssBytes)}, after round {later.Round} {Mb(later.RssBytes)}\n{Describe(samples)}");
        }

        Assert.False(gateway.HasExited, gateway.RecentOutput);
    }

    private static ProcessStartInfo ChurnStartInfo(ServerProcess gateway) => NodeClient.Script("soak.mjs",
    [
        "--url", gateway.Url, "--sockets", Sockets.ToString(CultureInfo.InvariantCulture),
        "--ms", RoundMs.ToString(CultureInfo.InvariantCulture), "--max-ms", (RoundMs + 40_000).ToString(CultureInfo.InvariantCulture),
    ]);

    /// <summary>A prompt of ~1.5 KB every 200 ms (the id is what the sockets answer) until the round is over.</summary>
    private static async Task<int> PublishUntilAsync(ServerProcess gateway, int round, CancellationToken roundOver)
    {
        string padding = new('p', 1500);
        int published = 0;
        while (!roundOver.IsCancellationRequested)
        {
            string id = $"soak-{round}-{published}";
            (HttpStatusCode status, string body) = await gateway.PublishAsync(new { @event = "prompt", id, data = new object[] { new { id, q = "Who wins?", padding } } });
            Assert.True(status == HttpStatusCode.Accepted, $"publish {id}: {(int)status} {body}");
            published++;
            try
            {
                await Task.Delay(200, roundOver);
            }
            catch (OperationCanceledException)
            {
            }
        }

        return published;
    }

    /// <summary>
    /// Waits until the gateway holds no session and no TCP connection, then until every pooled buffer is back (at
    /// once, unless a closing connection is still returning its own); then reads the heap and RSS from /metrics.
    /// </summary>
    private async Task<Sample> QuietSampleAsync(ServerProcess gateway, int round)
    {
        JsonElement stats = await WaitForStatsAsync(gateway, s =>
            s.GetProperty("connections").GetInt64() == 0 &&
            s.GetProperty("transports").GetProperty("websocket").GetInt64() == 0 &&
            s.GetProperty("transports").GetProperty("polling").GetInt64() == 0 &&
            s.GetProperty("admission").GetProperty("tcpConnections").GetInt64() == 0,
            "no session and no TCP connection");
        stats = await WaitForStatsAsync(gateway, s => s.GetProperty("pool").GetProperty("rentedBuffers").GetInt64() == 0,
            "every pooled buffer returned (rented − returned = 0)");
        Assert.Equal(0, stats.GetProperty("pool").GetProperty("rentedBytes").GetInt64());

        Dictionary<string, double> metrics = await ScrapeAsync(gateway);
        Assert.Equal(0, metrics["gateway_pool_rented_buffers"]);
        Assert.Equal(0, metrics["gateway_pool_rented_bytes"]);
        Assert.Equal(0, metrics["gateway_connections"]);
        var sample = new Sample(round, (long)metrics["dotnet_gc_last_collection_heap_size_bytes"], (long)metrics["dotnet_process_memory_working_set_bytes"]);
        output.WriteLine($"round {round} quiet: heap after last GC {Mb(sample.HeapBytes)}, RSS {Mb(sample.RssBytes)}");
        return sample;
    }

    private static async Task<JsonElement> WaitForStatsAsync(ServerProcess gateway, Func<JsonElement, bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            JsonElement stats = await gateway.StatsAsync();
            if (condition(stats))
            {
                return stats;
            }

            Assert.True(clock.Elapsed < Deadline, $"not within {Deadline.TotalSeconds} s: {what}; last stats {stats.GetRawText()}");
            await Task.Delay(50);
        }
    }

    /// <summary>/metrics as metric name → the sum of its samples over every label set.</summary>
    private static async Task<Dictionary<string, double>> ScrapeAsync(ServerProcess gateway)
    {
        string text = await gateway.Admin.GetStringAsync("/metrics");
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            // name{labels} value [timestamp]: the value follows the label set (label values may hold spaces).
            int labelsEnd = line.LastIndexOf('}');
            int space = line.IndexOf(' ', labelsEnd < 0 ? 0 : labelsEnd);
            int nameEnd = line.IndexOfAny(['{', ' ']);
            double value = double.Parse(line[(space + 1)..].Split(' ')[0], CultureInfo.InvariantCulture);
            sums[line[..nameEnd]] = sums.GetValueOrDefault(line[..nameEnd]) + value;
        }

        return sums;
    }

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MB";

    private static string Describe(List<Sample> samples) =>
        string.Join("\n", samples.Select(s => $"round {s.Round}: heap {Mb(s.HeapBytes)}, RSS {Mb(s.RssBytes)}"));

    private sealed record Sample(int Round, long HeapBytes, long RssBytes);
}
