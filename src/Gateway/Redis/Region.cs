using System.Text.Json;
using Gateway.Connections;
using Gateway.Diagnostics;
using Gateway.Hosting;
using Gateway.Streams;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

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

    public Region(GatewayRuntime runtime)
    {
        _runtime = runtime;
        GatewayOptions.RedisOptions options = runtime.Options.Redis;
        _configuration = ConfigurationOptions.Parse(options.Configuration!);
        // Keep the sockets and keep retrying when Redis is away: readiness reports it, the reader resumes.
        _configuration.AbortOnConnectFail = false;
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
        null => "redis: connecting",
        // Commands issued while disconnected wait in StackExchange.Redis's backlog rather than fail: ask the link.
        { IsConnected: false } => "redis: disconnected, reconnecting",
        _ => Reader.NotReadyReason,
    };

    /// <summary>Connects (in the background; Redis may be down at start) and starts the loops.</summary>
    public void Start()
    {
        _connectTask = Task.Run(async () =>
        {
            ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(_configuration).ConfigureAwait(false);
            redis.ConnectionFailed += (_, e) => Log.RedisUnavailable(Logger, $"connection {e.EndPoint} failed ({e.FailureType})", e.Exception);
            _redis = redis;
            await redis.GetSubscriber().SubscribeAsync(Prompts.WakeChannel, (_, _) => Reader.Wake()).ConfigureAwait(false);
            _connected.TrySetResult(redis);
        });
        _ = Reader.RunAsync(_connected.Task);
        _ = Answers.RunAsync(_connected.Task);
    }

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
