using System.Diagnostics;
using System.Net;
using Gateway.Streams;
using Gateway.Tests.EndToEnd;
using StackExchange.Redis;

namespace Gateway.Tests.Redis;

/// <summary>
/// One region as the tests build it: a real redis-server and gateways in Redis mode on it (child processes, killed
/// by pid on dispose), plus the test's own connection to that Redis, which plays the backend.
/// </summary>
public sealed class RedisRegion : IAsyncDisposable
{
    private readonly List<ServerProcess> _gateways = [];
    private ConnectionMultiplexer? _backend;

    private RedisRegion(string name, RedisServer redis, IReadOnlyList<string> gatewayArguments)
    {
        Name = name;
        Redis = redis;
        GatewayArguments = gatewayArguments;
    }

    public string Name { get; }

    public RedisServer Redis { get; }

    public IReadOnlyList<string> GatewayArguments { get; }

    public IReadOnlyList<ServerProcess> Gateways => _gateways;

    public PromptStream Prompts { get; } = new();

    public static RedisKey AnswersKey => "gateway:answers";

    /// <summary>Starts redis-server, then <paramref name="gateways"/> gateways on it at once.</summary>
    public static async Task<RedisRegion> StartAsync(string name, int gateways, params string[] extraArguments)
    {
        RedisServer redis = await RedisServer.StartAsync();
        var region = new RedisRegion(name, redis, extraArguments);
        try
        {
            // Each started gateway registers itself, so a failure of one still disposes the others.
            await Task.WhenAll(Enumerable.Range(0, gateways).Select(_ => region.StartGatewayAsync()));
        }
        catch
        {
            await region.DisposeAsync();
            throw;
        }

        return region;
    }

    /// <summary>Starts one gateway of this region; with <c>/healthz</c> it does not wait for Redis (readiness).</summary>
    public async Task<ServerProcess> StartGatewayAsync(string readyPath = "/readyz")
    {
        var arguments = new List<string> { $"--Gateway:Redis:Configuration={Redis.Configuration}" };
        arguments.AddRange(GatewayArguments);
        ServerProcess gateway = await ServerProcess.StartAsync(ServerKind.Gateway, ServerProfile.Default, arguments, readyPath);
        lock (_gateways)
        {
            _gateways.Add(gateway);
        }

        return gateway;
    }

    /// <summary>The test's connection to this Redis: fails fast while Redis is away (no backlog), reconnects by itself.</summary>
    public async Task<IConnectionMultiplexer> BackendAsync()
    {
        if (_backend is null)
        {
            ConfigurationOptions options = ConfigurationOptions.Parse(Redis.Configuration);
            options.BacklogPolicy = BacklogPolicy.FailFast;
            options.ReconnectRetryPolicy = new LinearRetry(100);
            _backend = await ConnectionMultiplexer.ConnectAsync(options);
        }

        return _backend;
    }

    public async Task<IDatabase> DatabaseAsync() => (await BackendAsync()).GetDatabase();

    /// <summary>Publishes like any backend would (XADD + wake-up PUBLISH); returns the entry's stream id.</summary>
    public async Task<string> PublishAsync(string id, string dataJson, long? revealAtMs = null) =>
        await Prompts.PublishAsync(await BackendAsync(), new PromptEntry(id, "/", null, "prompt", dataJson, revealAtMs));

    /// <summary>Every entry of the prompt stream with prompt id <paramref name="id"/>.</summary>
    public async Task<StreamEntry[]> PromptEntriesAsync(string id)
    {
        IDatabase db = await DatabaseAsync();
        StreamEntry[] all = await db.StreamRangeAsync(Prompts.Key, "-", "+");
        return all.Where(e => e[PromptEntry.IdField] == id).ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        if (_backend is not null)
        {
            await _backend.CloseAsync(allowCommandsToComplete: false);
            _backend.Dispose();
        }

        foreach (ServerProcess gateway in _gateways)
        {
            gateway.Dispose();
        }

        Redis.Dispose();
    }

    /// <summary>GET /readyz of a gateway: status and body (status 0 when the request itself failed).</summary>
    public static async Task<(HttpStatusCode Status, string Body)> ReadyzAsync(ServerProcess gateway)
    {
        try
        {
            using HttpResponseMessage res = await gateway.Admin.GetAsync("/readyz");
            return (res.StatusCode, await res.Content.ReadAsStringAsync());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return (0, e.Message);
        }
    }

    /// <summary>Polls /readyz until it answers <paramref name="status"/>; returns the time taken, or null after the limit.</summary>
    public static async Task<TimeSpan?> WaitForReadyzAsync(ServerProcess gateway, HttpStatusCode status, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < limit)
        {
            if ((await ReadyzAsync(gateway)).Status == status)
            {
                return watch.Elapsed;
            }

            await Task.Delay(25);
        }

        return null;
    }

    /// <summary>Waits until a gateway's /v1/stats shows <paramref name="count"/> connections.</summary>
    public static async Task WaitForConnectionsAsync(ServerProcess gateway, int count, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        long last = -1;
        while (watch.Elapsed < limit)
        {
            last = (await gateway.StatsAsync()).GetProperty("connections").GetInt64();
            if (last == count)
            {
                return;
            }

            await Task.Delay(25);
        }

        Assert.Fail($"gateway {gateway.Url}: {last} connections, expected {count} within {limit}");
    }
}
