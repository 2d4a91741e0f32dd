using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.Streams;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Redis;

/// <summary>
/// The connection to the region's Redis, made in the background (Redis may be down at start) and kept: the
/// multiplexer reconnects by itself. The loops (<see cref="PromptStreamReader"/>, <see cref="AnswerWriter"/>,
/// <see cref="RegionLiveness"/>) wait for it with <see cref="ConnectedAsync"/>.
/// </summary>
internal sealed class RegionConnection : BackgroundService
{
    private readonly ConfigurationOptions _configuration;
    private readonly TaskCompletionSource<ConnectionMultiplexer> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile ConnectionMultiplexer? _redis;
    private volatile string? _connectError;

    public RegionConnection(IOptions<GatewayOptions> options, ILoggerFactory loggerFactory)
    {
        Options = options.Value;
        GatewayOptions.RedisOptions redis = Options.Redis;
        _configuration = ConfigurationOptions.Parse(redis.Configuration!);
        // Keep the sockets and keep retrying when Redis is away: readiness reports it, the reader resumes.
        _configuration.AbortOnConnectFail = false;
        // Back within a second or two of Redis returning, not after the default's growing pauses.
        _configuration.ReconnectRetryPolicy = new ExponentialRetry(250, 2000);
        _configuration.ClientName ??= "gateway";
        Logger = loggerFactory.CreateLogger("Gateway.Redis");
        Prompts = new PromptStream(redis.PromptStream, redis.PromptMaxLength);
        SessionPrefix = redis.SessionPrefix;
    }

    public GatewayOptions Options { get; }

    public ILogger Logger { get; }

    /// <summary>The region's prompt stream (key, wake-up channel, publish).</summary>
    public PromptStream Prompts { get; }

    /// <summary>Prefix of every session record, claim, channel list, instance heartbeat and the pid secret.</summary>
    public string SessionPrefix { get; }

    /// <summary>The connection, once made (null before).</summary>
    public ConnectionMultiplexer? Connection => _redis;

    /// <summary>Null when connected; otherwise why not.</summary>
    public string? NotReadyReason => _redis switch
    {
        null => _connectError ?? "redis: connecting",
        // Commands issued while disconnected wait in StackExchange.Redis's backlog rather than fail: ask the link.
        { IsConnected: false } => "redis: disconnected, reconnecting",
        _ => null,
    };

    /// <summary>The connection, once made; cancelled with <paramref name="stopping"/>.</summary>
    public Task<ConnectionMultiplexer> ConnectedAsync(CancellationToken stopping) => _connected.Task.WaitAsync(stopping);

    /// <summary>The connection, once made; null when the gateway stops first (the loops that only wait end then).</summary>
    public async Task<ConnectionMultiplexer?> ConnectedOrStoppedAsync(CancellationToken stopping)
    {
        try
        {
            return await ConnectedAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // With abortConnect=false the multiplexer normally comes back disconnected and keeps trying; when even that
        // first attempt throws (Redis down at start), try again until it works or the gateway stops.
        ConnectionMultiplexer? redis = null;
        for (int delayMs = 250; redis is null; delayMs = Math.Min(delayMs * 2, 2000))
        {
            try
            {
                redis = await ConnectionMultiplexer.ConnectAsync(_configuration).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                _connectError = "redis: " + e.Message;
                try
                {
                    await Task.Delay(delayMs, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        redis.ConnectionFailed += (_, e) => Log.RedisUnavailable(Logger, $"connection {e.EndPoint} failed ({e.FailureType})", e.Exception);
        _redis = redis;
        _connected.TrySetResult(redis);
    }

    /// <summary>
    /// Shutdown: returns once the commands issued so far (the session records queued by the final closes) have
    /// reached Redis, or Redis is away.
    /// </summary>
    public void Flush()
    {
        ConnectionMultiplexer? redis = _redis;
        if (redis is not null && redis.IsConnected)
        {
            try
            {
                // Commands on one connection complete in order: when this PING is answered, the records are stored.
                redis.GetDatabase().Ping();
            }
            catch (Exception e) when (e is AggregateException or RedisException)
            {
            }
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _redis?.Dispose();
    }
}
