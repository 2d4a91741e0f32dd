using System.Globalization;
using System.Text.Json;
using Gateway.Diagnostics;
using Gateway.EngineIO;
using Gateway.Hosting;
using Gateway.SocketIO;
using Gateway.Streams;
using Microsoft.Extensions.Logging;
using Gateway.Prompts;
using StackExchange.Redis;
using StreamPosition = Gateway.Prompts.StreamPosition;

namespace Gateway.Redis;

/// <summary>
/// Redis mode: the connection to the region's Redis and the three things that use it — the prompt stream reader,
/// the answers writer and the recoverable-session records. One per gateway (owned by <see cref="GatewayRuntime"/>).
/// </summary>
internal sealed class Region : IDisposable
{
    private readonly GatewayRuntime _runtime;
    private readonly ConfigurationOptions _configuration;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource<ConnectionMultiplexer> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ConnectionMultiplexer? _redis;
    private Task? _connectTask;
    private volatile string? _connectError;

    public Region(GatewayRuntime runtime)
    {
        _runtime = runtime;
        GatewayOptions.RedisOptions options = runtime.Options.Redis;
        _configuration = ConfigurationOptions.Parse(options.Configuration!);
        // Keep the sockets and keep retrying when Redis is away: readiness reports it, the reader resumes.
        _configuration.AbortOnConnectFail = false;
        // Back within a second or two of Redis returning, not after the default's growing pauses.
        _configuration.ReconnectRetryPolicy = new ExponentialRetry(250, 2000);
        _configuration.ClientName ??= "gateway";
        Logger = runtime.LoggerFactory.CreateLogger("Gateway.Redis");
        Prompts = new PromptStream(options.PromptStream, options.PromptMaxLength);
        SessionPrefix = options.SessionPrefix;
        Reader = new PromptStreamReader(runtime, this);
        Answers = new AnswerWriter(runtime, this);
    }

    public ILogger Logger { get; }

    public PromptStream Prompts { get; }

    public string SessionPrefix { get; }

    public PromptStreamReader Reader { get; }

    public AnswerWriter Answers { get; }

    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Null when ready; otherwise why not (reported by <c>/readyz</c>).</summary>
    public string? NotReadyReason => _redis switch
    {
        null => _connectError ?? "redis: connecting",
        // Commands issued while disconnected wait in StackExchange.Redis's backlog rather than fail: ask the link.
        { IsConnected: false } => "redis: disconnected, reconnecting",
        _ => Reader.NotReadyReason,
    };

    /// <summary>Connects (in the background; Redis may be down at start) and starts the loops.</summary>
    public void Start()
    {
        _connectTask = Task.Run(async () =>
        {
            // With abortConnect=false the multiplexer normally comes back disconnected and keeps trying; when even
            // that first attempt throws (Redis down at start), try again until it works or the gateway stops.
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
                    await Task.Delay(delayMs, Stopping).ConfigureAwait(false);
                }
            }

            redis.ConnectionFailed += (_, e) => Log.RedisUnavailable(Logger, $"connection {e.EndPoint} failed ({e.FailureType})", e.Exception);
            _redis = redis;
            _connected.TrySetResult(redis);

            // The wake-up only shortens the poll: until Redis takes the subscription, the reader polls. Once taken,
            // StackExchange.Redis renews it after every reconnect.
            for (int delayMs = 250; !Stopping.IsCancellationRequested; delayMs = Math.Min(delayMs * 2, 2000))
            {
                try
                {
                    await redis.GetSubscriber().SubscribeAsync(Prompts.WakeChannel, (_, _) => Reader.Wake()).ConfigureAwait(false);
                    break;
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    await Task.Delay(delayMs, Stopping).ConfigureAwait(false);
                }
            }
        });
        _ = Reader.RunAsync(_connected.Task);
        _ = Answers.RunAsync(_connected.Task);
        _ = HeartbeatAsync();
    }

    // ---- Instance liveness and signed pids ---------------------------------------------------------------------

    /// <summary>This process's id in the region: a restart is a new instance.</summary>
    public string InstanceId { get; } = EngineSession.NewId()[..8];

    private byte[]? _secret;

    /// <summary>Instance heartbeat period; a recovery waits up to 4 of them to tell a crashed instance from a live one.</summary>
    public const int HeartbeatMs = 250;

    private string InstanceKey(string instance) => SessionPrefix + "instance:" + instance;

    /// <summary>
    /// Every 250 ms: "this instance is alive at T" (expiring after MaxDisconnection), and the region's pid-signing
    /// secret (created once by whichever gateway comes first). A gateway that crashes writes no session records; its
    /// last heartbeat tells the others when its sockets were cut off.
    /// </summary>
    private async Task HeartbeatAsync()
    {
        ConnectionMultiplexer redis;
        try
        {
            redis = await _connected.Task.WaitAsync(Stopping).ConfigureAwait(false);
        }
        catch (Exception)
        {
            return;
        }

        IDatabase db = redis.GetDatabase();
        var expiry = TimeSpan.FromMilliseconds(_runtime.Options.Recovery.MaxDisconnection + 5000);
        while (!Stopping.IsCancellationRequested)
        {
            try
            {
                if (_secret is null)
                {
                    RedisKey secretKey = SessionPrefix + "secret";
                    await db.StringSetAsync(secretKey, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), when: When.NotExists).ConfigureAwait(false);
                    string? secret = await db.StringGetAsync(secretKey).ConfigureAwait(false);
                    _secret = secret is null ? null : Convert.FromBase64String(secret);
                }

                await db.StringSetAsync(InstanceKey(InstanceId), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), expiry).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RedisException or TimeoutException or FormatException)
            {
            }

            try
            {
                await Task.Delay(HeartbeatMs, Stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>
    /// A pid any gateway of the region can verify without a record: <c>sid.instance.issuedAt.joinedAt.joinId.mac</c> —
    /// who issued it and when (unix seconds), and where in the prompt stream the socket joined (a socket that never got
    /// a prompt recovers from there). Before the secret is known (Redis away at start) the pid is only good with a
    /// session record.
    /// </summary>
    public string IssuePid(string sid, string namespaceName, StreamPosition joined)
    {
        byte[]? secret = _secret;
        if (secret is null)
        {
            return EngineSession.NewId();
        }

        long issuedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string signed = string.Create(CultureInfo.InvariantCulture, $"{sid}.{InstanceId}.{issuedAt}.{joined.VisibleAt}.{joined.Id}");
        return signed + "." + Mac(secret, signed, namespaceName);
    }

    /// <summary>Reads a signed pid issued for <paramref name="namespaceName"/>: who issued it, when, and the join position.</summary>
    public bool TryReadPid(string pid, string namespaceName, out SignedPid signed)
    {
        signed = default;
        byte[]? secret = _secret;
        string[] parts = pid.Split('.');
        if (secret is null || parts.Length != 6 || parts[0].Length is 0 or > 32 || parts[1].Length != InstanceId.Length ||
            !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out long issuedAt) ||
            !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out long joinedAt) ||
            !StreamId.TryParse(parts[4], out StreamId joinedId))
        {
            return false;
        }

        string expected = Mac(secret, pid[..pid.LastIndexOf('.')], namespaceName);
        if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(expected), System.Text.Encoding.ASCII.GetBytes(parts[5])))
        {
            return false;
        }

        signed = new SignedPid(parts[0], parts[1], issuedAt * 1000, new StreamPosition(joinedAt, joinedId));
        return true;
    }

    private static string Mac(byte[] secret, string signed, string namespaceName)
    {
        byte[] mac = System.Security.Cryptography.HMACSHA256.HashData(secret, System.Text.Encoding.UTF8.GetBytes(signed + "\n" + namespaceName));
        return Convert.ToBase64String(mac, 0, 12).Replace('+', '-').Replace('/', '_');
    }

    /// <summary>When the instance was last alive (ms), 0 when it has been gone longer than its key lives, -1 alive now.</summary>
    public async Task<long> InstanceLastSeenAsync(IDatabase db, string instance)
    {
        RedisValue value = await db.StringGetAsync(InstanceKey(instance)).ConfigureAwait(false);
        if (value.IsNull || !value.TryParse(out long lastSeen))
        {
            return 0;
        }

        // Four missed heartbeats mean the process is gone.
        return instance != InstanceId && DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - lastSeen > 4 * HeartbeatMs ? lastSeen : -1;
    }

    /// <summary>A pid recovers once: the first gateway to claim it wins.</summary>
    public Task<bool> ClaimPidAsync(IDatabase db, string pid) =>
        db.StringSetAsync(SessionPrefix + "claimed:" + pid, 1, TimeSpan.FromMilliseconds(_runtime.Options.Recovery.MaxDisconnection), when: When.NotExists);

    /// <summary>The connection, once made (null before).</summary>
    public ConnectionMultiplexer? Connection => _redis;

    /// <summary>Writes a prompt to this region's stream (the admin publish in Redis mode).</summary>
    public async Task<string> PublishAsync(PromptEntry prompt)
    {
        ConnectionMultiplexer redis = _redis ?? throw new InvalidOperationException("redis: connecting");
        return await Prompts.PublishAsync(redis, prompt).ConfigureAwait(false);
    }

    // ---- Recoverable sessions ---------------------------------------------------------------------------------

    /// <summary>
    /// Records a socket whose transport closed, so that any gateway of the region can restore it within
    /// <c>Recovery:MaxDisconnection</c> (the record expires then). Pipelined, fire and forget: a close never waits.
    /// </summary>
    public void SaveSession(NamespaceSocket socket, string namespaceName)
    {
        ConnectionMultiplexer? redis = _redis;
        if (redis is null || socket.Pid is null)
        {
            return;
        }

        var record = new SessionRecord(socket.Id, namespaceName, socket.JoinPosition.VisibleAt, socket.JoinPosition.Id.ToString(), socket.ChannelNames.ToArray());
        string json = JsonSerializer.Serialize(record, SessionRecord.JsonOptions);
        try
        {
            redis.GetDatabase().StringSet(SessionPrefix + socket.Pid, json, TimeSpan.FromMilliseconds(_runtime.Options.Recovery.MaxDisconnection), flags: CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
            // Redis away: that socket will reconnect with recovered: false, which is the truth.
        }
    }

    /// <summary>
    /// How long the channels a socket joined or left by event stay in Redis after their last change: a crash
    /// recovery of a socket older than that cannot know them (recovered: false).
    /// </summary>
    public static readonly TimeSpan ChannelsLifetime = TimeSpan.FromHours(24);

    public RedisKey ChannelsKey(string pid) => SessionPrefix + "channels:" + pid;

    /// <summary>
    /// Records the channels of a socket whose membership changed by event after its CONNECT. A gateway that crashes
    /// writes no session record; the one that recovers the socket reads them from here. Pipelined, fire and forget.
    /// </summary>
    public void SaveChannels(NamespaceSocket socket)
    {
        ConnectionMultiplexer? redis = _redis;
        if (redis is null || socket.Pid is null)
        {
            return;
        }

        string json = JsonSerializer.Serialize(socket.ChannelNames.ToArray(), SessionRecord.JsonOptions);
        try
        {
            redis.GetDatabase().StringSet(ChannelsKey(socket.Pid), json, ChannelsLifetime, flags: CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
        }
    }

    /// <summary>Stops the loops after the session records queued by the final close have reached Redis.</summary>
    public void Stop()
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

        _stopping.Cancel();
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _redis?.Dispose();
        _stopping.Dispose();
    }
}

/// <summary>What a gateway stores about a disconnected socket (key: session prefix + pid).</summary>
/// <summary>What a signed pid says: the socket's id, the instance that issued it, when (ms), and where it joined.</summary>
internal readonly record struct SignedPid(string Sid, string Instance, long IssuedAtMs, StreamPosition Joined);

internal sealed record SessionRecord(string Sid, string Ns, long V, string Id, string[] Ch)
{
    public static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static SessionRecord? TryParse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            SessionRecord? record = JsonSerializer.Deserialize<SessionRecord>(json, JsonOptions);
            return record is { Sid: not null, Ns: not null, Id: not null, Ch: not null } && StreamId.TryParse(record.Id, out _) ? record : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public StreamPosition Position => new(V, StreamId.Parse(Id));
}
