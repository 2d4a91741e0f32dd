using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Gateway.Streams;
using Gateway.Tests.Identity;
using Gateway.Tests.Redis;
using StackExchange.Redis;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// Issue 11, the region as one system: three gateways in Redis mode behind a real HAProxy in TCP mode, round robin, no
/// stickiness (as an AWS NLB), all started by <c>tools/region</c>; stock socket.io-client 4.8 sockets
/// (tests/node/region-client.mjs) connect only to the balancer. Each test runs with websocket-only clients and with
/// socket.io-client's default transports (long-polling, then the upgrade), whose requests of one session land on
/// different gateways: those need a gateway to serve any request of any session of the region.
/// </summary>
[Trait("Category", "EndToEnd")]
[Trait("Category", "Redis")]
public sealed class RegionTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>socket.io-client's <c>transports</c> for a variant: websocket only, or its default (polling first).</summary>
    private static object Transports(string variant) => variant == "websocket" ? new[] { "websocket" } : "default";

    private static string NewTag(string what) => $"{what}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>A prompt of a run: data <c>[{tag, seq}]</c>, id <c>tag-seq</c>.</summary>
    private static PromptEntry Prompt(string tag, int seq, long? answerUntilMs = null) =>
        new($"{tag}-{seq}", "/", null, "prompt", $"[{{\"tag\":\"{tag}\",\"seq\":{seq}}}]", AnswerUntilMs: answerUntilMs);

    private static int[] Sequence(SocketReport socket, string tag) =>
        socket.Prompts(tag).Select(e => int.Parse(e.Field("seq")!, CultureInfo.InvariantCulture)).ToArray();

    /// <summary>
    /// 1,000 clients over 3 gateways through the balancer: every one connects, ends up on its transport (websocket; a
    /// polling-only share stays on polling), every gateway has some, every gateway's /v1/stats shows the region's
    /// total, and every client receives 10 prompts published to the region's stream exactly once, in order.
    /// </summary>
    [Theory(Timeout = 150_000)]
    [InlineData("websocket")]
    [InlineData("default")]
    public async Task ThousandClients_OverThreeGateways_EachReceivesTenPromptsOnceInOrder(string transports)
    {
        var clock = Stopwatch.StartNew();
        await using RegionProcess region = await RegionProcess.StartAsync(3);
        await using RegionClient client = await RegionClient.StartAsync(TimeSpan.FromSeconds(140));
        string url = region.BalancerUrl;
        var groups = new List<(string Group, int Count, string Transport)>();
        if (transports == "websocket")
        {
            groups.Add(("websocket", 1000, "websocket"));
        }
        else
        {
            groups.Add(("upgrading", 850, "websocket"));
            groups.Add(("polling", 150, "polling"));
        }

        foreach ((string group, int count, string transport) in groups)
        {
            object options = group == "polling" ? new[] { "polling" } : Transports(transports);
            await client.ConnectAsync(url, count, group, batch: 100, transports: options);
        }

        foreach ((string group, _, string transport) in groups)
        {
            (bool on, string counts) = await client.WaitTransportAsync(RegionClient.Group(group), transport, Deadline);
            Assert.True(on, $"{group}: not every socket is connected on {transport}: {counts}\n{region.Describe()}");
        }

        TimeSpan connected = clock.Elapsed;

        // Spread over every gateway, and every gateway's /v1/stats shows the region's total (a heartbeat is 250 ms).
        long[] perGateway = await SettledSocketsPerGatewayAsync(region, 1000, groups.Where(g => g.Transport == "websocket").Sum(g => g.Count));
        Assert.True(perGateway.Sum() == 1000 && perGateway.All(n => n > 0), $"sockets per gateway: [{string.Join(", ", perGateway)}]");
        foreach (RegionGateway gateway in region.Gateways)
        {
            await WaitForRegionAsync(region, gateway, totals => totals.GetProperty("connections").GetInt64() == 1000 &&
                                                       totals.GetProperty("instances").GetInt32() == 3);
        }

        string tag = NewTag("ten");
        for (int seq = 0; seq < 10; seq++)
        {
            await region.PublishAsync(Prompt(tag, seq));
        }

        (bool done, string received) = await client.WaitForEventsAsync(null, 10, Deadline, tag: tag);
        Assert.True(done, $"not every socket received the 10 prompts (sockets by count): {received}\n{region.Describe()}");
        SocketReport[] sockets = await client.ReportAsync();
        Assert.Equal(1000, sockets.Length);
        foreach (SocketReport socket in sockets)
        {
            string expectedTransport = groups.Single(g => g.Group == socket.Group).Transport;
            Assert.True(Sequence(socket, tag).SequenceEqual(Enumerable.Range(0, 10)) && socket.Transport == expectedTransport &&
                        socket.Connects.Length == 1 && socket.Disconnects.Length == 0,
                $"expected prompts 0–9 once, in order, on {expectedTransport}, one connect: {socket.Describe()}");
        }

        await client.DisconnectAsync();
        foreach (RegionGateway gateway in region.Gateways)
        {
            await WaitForRegionAsync(region, gateway, totals => totals.GetProperty("connections").GetInt64() == 0);
        }

        // What this run took (bounded by the theory's timeout, never asserted): visible with --logger "console;verbosity=detailed".
        Console.WriteLine($"region, 1,000 clients ({transports}): connected in {connected.TotalSeconds:F1} s, whole test {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// A gateway is SIGKILLed in the middle of a burst of 40 prompts: its clients come back through the balancer to the
    /// other two, recover (same socket id, <c>recovered: true</c>), and every client has every prompt exactly once, in
    /// order, up to the sentinel published after the burst.
    /// </summary>
    [Theory(Timeout = 150_000)]
    [InlineData("websocket")]
    [InlineData("default")]
    public async Task GatewayKilledMidBurst_ItsClientsRecoverOnTheOthers_EveryPromptOnceInOrder(string transports)
    {
        const int Clients = 300, Burst = 40, KillAfter = 15;
        await using RegionProcess region = await RegionProcess.StartAsync(3);
        await using RegionClient client = await RegionClient.StartAsync(TimeSpan.FromSeconds(140));
        await client.ConnectAsync(region.BalancerUrl, Clients, "viewers", batch: 100, transports: Transports(transports));
        (bool upgraded, string counts) = await client.WaitTransportAsync(null, "websocket", Deadline);
        Assert.True(upgraded, $"not every socket is on websocket: {counts}\n{region.Describe()}");

        RegionGateway victim = region.Gateways[0];
        long victimSockets = (await SettledSocketsPerGatewayAsync(region, Clients))[0];
        Assert.True(victimSockets > 0, $"{victim} has no socket to lose");
        Dictionary<int, string> idsBefore = (await client.ReportAsync()).ToDictionary(s => s.Index, s => s.Id!);

        string tag = NewTag("burst");
        for (int seq = 0; seq < Burst; seq++)
        {
            if (seq == KillAfter)
            {
                RegionProcess.Kill(victim);
            }

            await region.PublishAsync(Prompt(tag, seq));
        }

        // The sentinel: published after the burst, so a socket that has it has had every chance to get the burst.
        await region.PublishAsync(Prompt(tag, Burst));
        (bool done, string received) = await client.WaitForEventsAsync(null, Burst + 1, Deadline, tag: tag);
        if (!done)
        {
            SocketReport[] behind = (await client.ReportAsync()).Where(s => Sequence(s, tag).Length < Burst + 1).ToArray();
            Assert.Fail($"not every socket reached the sentinel (sockets by prompt count): {received}\n" +
                $"{string.Join("\n", behind.Take(5).Select(s => s.Describe()))}\n{region.Describe()}");
        }

        Assert.True(await client.WaitConnectedAsync(null, Deadline), "not every socket is connected again");

        SocketReport[] sockets = await client.ReportAsync();
        SocketReport[] moved = sockets.Where(s => s.Disconnects.Length > 0).ToArray();
        Assert.True(moved.Length == victimSockets, $"{moved.Length} sockets were disconnected; the killed gateway had {victimSockets}");
        foreach (SocketReport socket in sockets)
        {
            Assert.True(Sequence(socket, tag).SequenceEqual(Enumerable.Range(0, Burst + 1)),
                $"expected prompts 0–{Burst} once, in order: {socket.Describe()}");
            Assert.Equal(idsBefore[socket.Index], socket.Id);
        }

        foreach (SocketReport socket in moved)
        {
            Assert.True(socket.Connects.Length == 2 && socket.Connects[1].Recovered && socket.Recovered,
                $"a socket of the killed gateway did not recover on its first reconnect: {socket.Describe()}");
        }

        await client.DisconnectAsync();
        foreach (RegionGateway gateway in region.Gateways.Where(g => g != victim))
        {
            await WaitForRegionAsync(region, gateway, totals => totals.GetProperty("connections").GetInt64() == 0 &&
                                                       totals.GetProperty("instances").GetInt32() == 2);
        }
    }

    /// <summary>
    /// The same viewer (same JWT <c>sub</c>) connected twice through the balancer, landing on two gateways, answers the
    /// same prompt from both at once: one <c>{"ok":true}</c>, one <c>duplicate</c>, one entry in <c>gateway:answers</c>;
    /// an answer after <c>answer_until</c> is <c>closed</c>; a bad token is <c>unauthorized</c>.
    /// </summary>
    [Theory(Timeout = 150_000)]
    [InlineData("websocket")]
    [InlineData("default")]
    public async Task SameViewerOnTwoGateways_AnswersOnce_ClosedAfterTheWindow_BadTokenUnauthorized(string transports)
    {
        await using RegionProcess region = await RegionProcess.StartAsync(3,
            $"--Gateway:Auth:Jwt:Secret={TestTokens.Secret}", $"--Gateway:Auth:Jwt:Issuer={TestTokens.Issuer}",
            $"--Gateway:Auth:Jwt:Audience={TestTokens.Audience}");
        await using RegionClient client = await RegionClient.StartAsync(TimeSpan.FromSeconds(140));
        string url = region.BalancerUrl;
        string viewer = NewTag("viewer");
        var auth = new { token = TestTokens.Create(TestTokens.Hs256(), viewer) };

        // Two tabs of one viewer; a tab that lands where the first one is goes away and another one comes (round robin
        // sends the next connection elsewhere).
        int[] tabA = await ConnectTabAsync(client, url, "tab-a", auth, transports);
        RegionGateway gatewayA = await WhereAsync(region, 1);
        int[] tabB = [];
        RegionGateway? gatewayB = null;
        for (int attempt = 0; attempt < 5 && gatewayB is null; attempt++)
        {
            tabB = await ConnectTabAsync(client, url, "tab-b-" + attempt, auth, transports);
            RegionGateway[] holding = await HoldingAsync(region, 2);
            if (holding.Length == 2)
            {
                gatewayB = holding.Single(g => g != gatewayA);
            }
            else
            {
                await client.DisconnectAsync(tabB);
                await WhereAsync(region, 1);
            }
        }

        Assert.True(gatewayB is not null, "five second tabs in a row landed on the first tab's gateway");
        int[] tabs = [.. tabA, .. tabB];

        string tag = NewTag("answer");
        PromptEntry prompt = Prompt(tag, 0, answerUntilMs: DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeMilliseconds());
        await region.PublishAsync(prompt);
        (bool done, string counts) = await client.WaitForEventsAsync(tabs, 1, Deadline, tag: tag);
        Assert.True(done, $"the prompt did not reach both tabs: {counts}");
        AnswerResult[] answers = await client.AnswerAsync(tabs, prompt.Id, 2, timeoutMs: 10_000);
        string[] acks = answers.Select(r => r.Ack is { Length: 1 } ack ? ack[0].GetRawText() : $"none ({r.Error})").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["{\"ok\":false,\"error\":\"duplicate\"}", "{\"ok\":true}"], acks);

        // After the window: closed, on both gateways.
        string lateTag = NewTag("late");
        PromptEntry late = Prompt(lateTag, 0, answerUntilMs: DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1);
        await region.PublishAsync(late);
        (done, counts) = await client.WaitForEventsAsync(tabs, 1, Deadline, tag: lateTag);
        Assert.True(done, $"the closed prompt did not reach both tabs: {counts}");
        AnswerResult[] lateAnswers = await client.AnswerAsync(tabs, late.Id, 1);
        Assert.All(lateAnswers, r => Assert.Equal("{\"ok\":false,\"error\":\"closed\"}", r.Ack?[0].GetRawText()));

        // Sentinel for "nothing else in the stream": a fresh prompt id answered and acked after the refused ones.
        string marker = NewTag("marker");
        Assert.Equal("{\"ok\":true}", (await client.AnswerAsync(tabA, marker, 1))[0].Ack?[0].GetRawText());
        IDatabase db = (await region.BackendAsync()).GetDatabase();
        StreamEntry[] stored = await db.StreamRangeAsync("gateway:answers", "-", "+");
        Assert.Equal([prompt.Id, marker], stored.Select(e => e["prompt_id"].ToString()));
        Assert.Equal(viewer, stored[0]["viewer"].ToString());

        // A bad token through the balancer: CONNECT_ERROR unauthorized, whichever gateway it lands on.
        for (int attempt = 0; attempt < 3; attempt++)
        {
            string bad = TestTokens.Create(TestTokens.Hs256("another-secret-of-at-least-32-bytes-long!!"), viewer);
            string error = await client.ConnectRefusedAsync(url, new { token = bad }, "bad-" + attempt);
            Assert.Equal("unauthorized", error);
        }
    }

    private static async Task<int[]> ConnectTabAsync(RegionClient client, string url, string group, object auth, string transports)
    {
        int[] tab = await client.ConnectAsync(url, 1, group, auth, transports: Transports(transports));
        (bool upgraded, string counts) = await client.WaitTransportAsync(tab, "websocket", Deadline);
        Assert.True(upgraded, $"{group} is not on websocket: {counts}");
        return tab;
    }

    /// <summary>The gateways holding a socket once, together, they hold <paramref name="total"/> (per /v1/stats).</summary>
    private static async Task<RegionGateway[]> HoldingAsync(RegionProcess region, int total)
    {
        long[] counts = await SettledSocketsPerGatewayAsync(region, total);
        return region.Gateways.Where((_, i) => counts[i] > 0).ToArray();
    }

    /// <summary>
    /// Sockets per gateway once, together, they hold <paramref name="total"/>, <paramref name="webSockets"/> of them on
    /// WebSocket (default: all): a client is on WebSocket as soon as it sends "5", while its session may still be on
    /// polling at its old gateway, or on its way to the new one (counted on neither).
    /// </summary>
    private static async Task<long[]> SettledSocketsPerGatewayAsync(RegionProcess region, int total, int? webSockets = null)
    {
        var clock = Stopwatch.StartNew();
        long[] counts = [];
        while (clock.Elapsed < Deadline)
        {
            // Both from one /v1/stats answer per gateway: read apart, a handover between the two reads would pass.
            (long Sockets, long OnWebSocket)[] stats = await Task.WhenAll(region.Gateways.Select(async g =>
            {
                JsonElement answer = await g.StatsAsync();
                return (answer.GetProperty("namespaces").GetProperty("/").GetInt64(), answer.GetProperty("transports").GetProperty("websocket").GetInt64());
            }));
            counts = stats.Select(s => s.Sockets).ToArray();
            if (counts.Sum() == total && stats.Sum(s => s.OnWebSocket) == (webSockets ?? total))
            {
                return counts;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"the gateways did not hold {total} sockets together within {Deadline}: [{string.Join(", ", counts)}]");
        return [];
    }

    private static async Task<RegionGateway> WhereAsync(RegionProcess region, int total) => (await HoldingAsync(region, total)).Single();

    /// <summary>Connected sockets of namespace <c>/</c> on each gateway, from its own <c>/v1/stats</c>.</summary>
    private static async Task<long[]> SocketsPerGatewayAsync(RegionProcess region) =>
        await Task.WhenAll(region.Gateways.Select(async g => (await g.StatsAsync()).GetProperty("namespaces").GetProperty("/").GetInt64()));

    private static async Task WaitForRegionAsync(RegionProcess region, RegionGateway gateway, Func<JsonElement, bool> condition) =>
        await RegionProcess.WaitForRegionCountsAsync(gateway.StatsAsync, $"{gateway}\n{region.Describe()}", condition, Deadline);
}
