using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Gateway.EngineIO;
using Gateway.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Conformance.Tests;

/// <summary>
/// A real gateway, in this process, on free loopback ports, with short timings and small limits so that every
/// limit can be hit quickly. Shared by the tests of one collection (they run one after another).
/// </summary>
public sealed class GatewayServer : IAsyncLifetime, IAsyncDisposable
{
    public const int PingInterval = 600;
    public const int PingTimeout = 400;
    public const int MaxPayload = 20_000;
    public const int RingCapacity = 16;
    public const int ConnectTimeout = 3000;

    /// <summary>How long a test waits for something that must happen ("wait until X"), however loaded the machine.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly int _pingInterval;
    private readonly string[] _overrides;
    private WebApplication? _app;

    public GatewayServer()
        : this(PingInterval)
    {
    }

    private GatewayServer(int pingInterval, params string[] overrides)
    {
        _pingInterval = pingInterval;
        _overrides = overrides;
    }

    /// <summary>
    /// A gateway of its own (dispose it), quiet as <see cref="StartQuietAsync"/>, with <paramref name="overrides"/>
    /// (<c>--Gateway:Key=value</c>) on top of the usual settings.
    /// </summary>
    public static async Task<GatewayServer> StartWithAsync(params string[] overrides)
    {
        var server = new GatewayServer(600_000, overrides);
        await server.InitializeAsync();
        return server;
    }

    /// <summary>
    /// A gateway of its own (dispose it) whose heartbeat never fires during a test: for the polling tests that hold a
    /// GET and must not see it ended by a ping instead of by what they do.
    /// </summary>
    public static async Task<GatewayServer> StartQuietAsync()
    {
        var server = new GatewayServer(pingInterval: 600_000);
        await server.InitializeAsync();
        return server;
    }

    public int Port { get; private set; }

    public int AdminPort { get; private set; }

    public HttpClient Admin { get; } = new();

    public async Task InitializeAsync()
    {
        Port = FreePort();
        AdminPort = FreePort();
        _app = GatewayApp.Build(
        [
            $"--Gateway:Port={Port}", $"--Gateway:AdminPort={AdminPort}", "--Gateway:BindAddress=127.0.0.1",
            "--Gateway:Diagnostics:Echo=true", "--Gateway:Namespaces:0=/", "--Gateway:Namespaces:1=/custom",
            $"--Gateway:PingInterval={_pingInterval}", $"--Gateway:PingTimeout={PingTimeout}", $"--Gateway:ConnectTimeout={ConnectTimeout}",
            $"--Gateway:MaxPayload={MaxPayload}", $"--Gateway:RingCapacity={RingCapacity}", "--Gateway:MaxOutboundBytes=65536",
            "--Gateway:Cors:Origins:0=http://allowed.example", "--Gateway:Cors:Credentials=true",
            "--Logging:LogLevel:Default=Warning",
            .. _overrides, // the command line's last value of a key wins
        ]);
        await _app.StartAsync();
        Admin.BaseAddress = new Uri($"http://127.0.0.1:{AdminPort}");
    }

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        Admin.Dispose();
    }

    public async Task<JsonElement> StatsAsync()
    {
        string json = await Admin.GetStringAsync("/v1/stats");
        return JsonDocument.Parse(json).RootElement;
    }

    /// <summary>The open connection count must come back to zero once clients are gone (polled, up to <see cref="Deadline"/>).</summary>
    public async Task AssertNoConnectionsAsync()
    {
        long connections = -1;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Deadline)
        {
            connections = (await StatsAsync()).GetProperty("connections").GetInt64();
            if (connections == 0)
            {
                return;
            }

            await Task.Delay(20);
        }

        Assert.Fail($"{connections} connections still open after {Deadline.TotalSeconds} s");
    }

    /// <summary>Polls /v1/stats until <paramref name="condition"/> holds (up to <see cref="Deadline"/>); returns those stats.</summary>
    public async Task<JsonElement> WaitForStatsAsync(Func<JsonElement, bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        JsonElement stats;
        while (!condition(stats = await StatsAsync()))
        {
            Assert.True(clock.Elapsed < Deadline, $"{what}: not so within {Deadline.TotalSeconds} s; last /v1/stats {stats.GetRawText()}");
            await Task.Delay(20);
        }

        return stats;
    }

    /// <summary>
    /// Waits until the gateway holds a GET of session <paramref name="sid"/> (it is parked, waiting for data): the
    /// condition "the poll reached the server" that a test must know before it does what should end that poll.
    /// </summary>
    public Task WaitUntilPollHeldAsync(string sid) => WaitUntilPollHeldAsync(_app!, sid);

    /// <inheritdoc cref="WaitUntilPollHeldAsync(string)"/>
    public static async Task WaitUntilPollHeldAsync(WebApplication app, string sid)
    {
        GatewayRuntime runtime = app.Services.GetRequiredService<GatewayRuntime>();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Assert.True(runtime.TryGetSession(Encoding.ASCII.GetBytes(sid), out EngineSession? session) && session is not null, $"session {sid} is gone");
            lock (session)
            {
                if (session.HasParkedPoll)
                {
                    return;
                }
            }

            Assert.True(clock.Elapsed < Deadline, $"no GET of session {sid} held within {Deadline.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// The prompt's record in <c>GET /v1/prompts</c> once it is complete (every fan-out worker has passed it), polled
    /// up to <see cref="Deadline"/>.
    /// </summary>
    public async Task<JsonElement> WaitForCompletePromptAsync(string id)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string json = await Admin.GetStringAsync("/v1/prompts");
            foreach (JsonElement prompt in JsonDocument.Parse(json).RootElement.GetProperty("prompts").EnumerateArray())
            {
                if (prompt.GetProperty("id").GetString() == id && prompt.GetProperty("complete").GetBoolean())
                {
                    return prompt.Clone();
                }
            }

            Assert.True(clock.Elapsed < Deadline, $"prompt {id} not complete in /v1/prompts: {json}");
            await Task.Delay(20);
        }
    }

    public Task<HttpResponseMessage> PublishAsync(string json) =>
        Admin.PostAsync("/v1/publish", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayServer>
{
    public const string Name = "gateway";
}
