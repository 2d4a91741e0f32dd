using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Gateway.LoadGen;
using Gateway.Tests.Redis;
using StackExchange.Redis;

namespace Gateway.LoadGen.Tests;

/// <summary>loadgen <c>--redis</c>: prompts written per the prompt-stream wire contract to a real redis-server.</summary>
[Trait("Category", "Redis")]
public sealed class RedisPublishTests : IAsyncLifetime
{
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public Task DisposeAsync()
    {
        _redis.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task PublisherWritesEveryPromptWithTheContractsFieldsAndWakesTheGateways()
    {
        using ConnectionMultiplexer reader = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        var wakes = new List<string>();
        var allWoken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        const int K = 3;
        await reader.GetSubscriber().SubscribeAsync(RedisChannel.Literal("show:prompts:wake"), (_, message) =>
        {
            lock (wakes)
            {
                wakes.Add(message!);
                if (wakes.Count == K)
                {
                    allWoken.TrySetResult();
                }
            }
        });

        Options o = Options.Parse(["broadcast", "--redis", _redis.Configuration, "--stream", "show:prompts", "--namespace", "/quiz"]);
        var errors = new Dictionary<string, long>();
        string runId;
        await using (PromptPublisher publisher = await PromptPublisher.CreateAsync(o))
        {
            Assert.True(publisher.UsesRedis);
            runId = publisher.RunId;
            for (int k = 1; k <= K; k++)
            {
                await publisher.PublishAsync(k, 1_764_700_000_000 + k, "xxxx", errors);
            }
        }

        Assert.Empty(errors);
        StreamEntry[] entries = await reader.GetDatabase().StreamRangeAsync("show:prompts");
        Assert.Equal(K, entries.Length);
        for (int k = 1; k <= K; k++)
        {
            StreamEntry e = entries[k - 1];
            string data = PromptPublisher.PromptData(k, 1_764_700_000_000 + k, "xxxx");
            Assert.Equal(
                [("id", $"{runId}-p-{k}"), ("ns", "/quiz"), ("ch", ""), ("ev", "prompt"), ("data", data)],
                e.Values.Select(v => ((string)v.Name!, (string)v.Value!)).ToArray());

            // The same arguments the admin API would get, so clients measure latency the same way.
            Assert.Equal($$"""[{"id":"p-{{k}}","sentAt":{{1_764_700_000_000 + k}},"payload":"xxxx"}]""", data);
            using JsonDocument body = JsonDocument.Parse(PromptPublisher.HttpBody("/quiz", data));
            Assert.Equal(data, body.RootElement.GetProperty("data").GetRawText());
        }

        await allWoken.Task.WaitAsync(TimeSpan.FromSeconds(5));
        lock (wakes)
        {
            Assert.Equal(entries.Select(e => e.Id.ToString()), wakes);
        }
    }

    [Fact]
    public async Task BroadcastWithRedisPublishesEveryPromptIntoTheStream()
    {
        string report = Path.Combine(Path.GetTempPath(), $"loadgen-redis-{Guid.NewGuid():N}.json");
        int rc = await Program.Main(
        [
            "broadcast", "--url", $"http://127.0.0.1:{FreePort()}", "--connections", "0", "--redis", _redis.Configuration,
            "--prompts", "2", "--burst", "1", "--interval", "50ms", "--grace", "0s", "--quiet", "--report", report,
        ]);
        Report r = Report.FromJson(await File.ReadAllTextAsync(report));
        File.Delete(report);

        Assert.Equal(0, rc);
        Assert.DoesNotContain("publish-failed", r.Errors.Keys);
        using ConnectionMultiplexer reader = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        StreamEntry[] entries = await reader.GetDatabase().StreamRangeAsync("gateway:prompts");
        Assert.Equal(3, entries.Length);
        string[] promptIds = [.. entries.Select(e =>
        {
            using JsonDocument data = JsonDocument.Parse((string)e["data"]!);
            return data.RootElement[0].GetProperty("id").GetString()!;
        })];
        Assert.Equal(["p-1", "p-2", "p-3"], promptIds);
        Assert.All(entries, e => Assert.Matches(@"^lg-\d+-[0-9a-f]{5}-p-\d$", (string?)e["id"]));
        Assert.Equal(3, entries.Select(e => (string?)e["id"]).Distinct().Count()); // unique per run: gateways deduplicate by id
    }

    [Fact]
    public async Task AnUnreachableRedisStopsTheRunBeforeTheRamp()
    {
        int rc = await Program.Main(
        [
            "broadcast", "--url", $"http://127.0.0.1:{FreePort()}", "--connections", "0",
            "--redis", $"127.0.0.1:{FreePort()},connectTimeout=1000", "--prompts", "1", "--quiet",
        ]);
        Assert.Equal(2, rc);
    }

    [Fact]
    public void RedisHostsFollowTheLoopbackRule()
    {
        PromptPublisher.CheckLoopback("127.0.0.1:6379,localhost:6380,serviceName=mymaster");
        var e = Assert.Throws<ArgumentException>(() => PromptPublisher.CheckLoopback("127.0.0.1:6379,10.1.2.3:6379"));
        Assert.Contains("10.1.2.3", e.Message);
        Assert.Contains("--allow-remote", e.Message);
        Assert.Throws<ArgumentException>(() => PromptPublisher.ParseRedis("127.0.0.1:6379,nosuchoption=1"));
    }

    [Fact]
    public async Task ARemoteRedisNeedsAllowRemote()
    {
        int rc = await Program.Main(["broadcast", "--url", "http://127.0.0.1:3000", "--redis", "10.1.2.3:6379", "--quiet"]);
        Assert.Equal(2, rc);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A gateway in Redis mode appends the stream id to a prompt's arguments as the recovery offset.</summary>
public sealed class TrailingOffsetTests
{
    /// <summary>A client that is not connected, fed packets by the test; <paramref name="flags"/> are loadgen options.</summary>
    internal static VirtualClient NewClient(out Metrics metrics, params string[] flags)
    {
        Options o = Options.Parse(["broadcast", "--prompts", "3", .. flags]);
        metrics = new Metrics(o.Prompts);
        var ctx = new ClientContext
        {
            Options = o,
            Metrics = metrics,
            Target = new IPEndPoint(IPAddress.Loopback, 1),
            HostHeader = "127.0.0.1:1",
            ConnectAuthPrefix = [],
        };
        return new VirtualClient(ctx, 0, null, false);
    }

    [Fact]
    public void APromptWithATrailingStreamIdCountsAndTheIdBecomesTheOffset()
    {
        VirtualClient client = NewClient(out Metrics m);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(); // prompts older than the process are another run's

        // Before the server offered a pid (no recovery): the trailing string is an ordinary extra argument.
        client.ReceiveEvent(Encoding.UTF8.GetBytes($$"""2["prompt",{"id":"p-1","sentAt":{{now}},"payload":"x"},"1764700000000-0"]"""));
        Assert.Equal(1, m.Prompts[0].Received);
        Assert.Null(client.LastOffset);

        // With a pid, like socket.io-client 4.6+: the last string argument is the offset sent on reconnect.
        typeof(VirtualClient).GetField("_pid", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .SetValue(client, "pid-1");
        client.ReceiveEvent(Encoding.UTF8.GetBytes($$"""2/quiz,["prompt",{"id":"p-2","sentAt":{{now}},"payload":"x"},"1764700000001-0"]"""));
        Assert.Equal(1, m.Prompts[1].Received);
        Assert.Equal("1764700000001-0", client.LastOffset);

        // Redelivered after a recovery: a duplicate, not a second delivery; the offset still moves on.
        client.ReceiveEvent(Encoding.UTF8.GetBytes($$"""2["prompt",{"id":"p-2","sentAt":{{now}},"payload":"x"},"1764700000002-0"]"""));
        Assert.Equal(1, m.Prompts[1].Received);
        Assert.Equal(1, m.Prompts[1].Duplicates);
        Assert.Equal("1764700000002-0", client.LastOffset);
        Assert.Equal(0, m.UnexpectedPrompts);
    }
}
