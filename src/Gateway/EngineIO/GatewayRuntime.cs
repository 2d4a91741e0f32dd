using System.Collections.Concurrent;
using System.Text;
using Gateway.Broadcast;
using Gateway.Diagnostics;
using Gateway.Hosting;
using Gateway.Time;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.EngineIO;

/// <summary>
/// The process-wide parts every session uses: options in the form the hot paths want, the ring, the fan-out, the
/// timing wheel, the session table and the metrics. One instance per gateway (a DI singleton).
/// </summary>
internal sealed class GatewayRuntime : IDisposable
{
    private readonly ConcurrentDictionary<string, EngineSession> _sessions = new(StringComparer.Ordinal);

    public GatewayRuntime(IOptions<GatewayOptions> options, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        Options = options.Value;
        LoggerFactory = loggerFactory;
        Logger = loggerFactory.CreateLogger("Gateway.Connections");
        NamespaceNames = Options.Namespaces.ToArray();
        Namespaces = NamespaceNames.Select(n => Encoding.ASCII.GetBytes(n)).ToArray();
        PathBytes = Encoding.ASCII.GetBytes(Options.Path);
        CorsOrigins = Options.Cors.Origins.Select(o => Encoding.ASCII.GetBytes(o)).ToArray();
        CorsAnyOrigin = Options.Cors.Origins.Contains("*");
        Metrics = new GatewayMetrics(NamespaceNames, CloseReasons.Names);
        Ring = new BroadcastRing(Options.RingCapacity);
        Channels = new ChannelRegistry();
        FanOut = new FanOut<EngineSession>(Options.FanOutWorkers, loggerFactory.CreateLogger("Gateway.Broadcast.FanOut"));
        // Resolution 1% of the shortest heartbeat period: 100 ms with socket.io's defaults, ~2 ms when a test runs
        // 300/200 ms heartbeats and expects a timeout to the millisecond.
        Wheel = new TimingWheel(time ?? TimeProvider.System, loggerFactory.CreateLogger<TimingWheel>(), tickMs: Math.Clamp(Math.Min(Options.PingInterval, Options.PingTimeout) / 100, 1, 100));
        Broadcaster = new Broadcaster(Ring, FanOut, Channels, Metrics, Namespaces, lateJoin: Options.LateJoin.MaxAge > 0);
        if (Options.RedisMode)
        {
            Region = new Redis.Region(this);
            OffersRecovery = Options.Recovery.Enabled;
        }
    }

    public ILoggerFactory LoggerFactory { get; }

    private volatile bool _stopping;

    /// <summary>Set when the host begins to stop: new handshakes are refused with 503.</summary>
    public bool Stopping
    {
        get => _stopping;
        set => _stopping = value;
    }

    /// <summary>Redis mode: the region's stream reader, answers writer and session records; null when embedded.</summary>
    public Redis.Region? Region { get; }

    /// <summary>CONNECT replies carry a pid and prompts their offset (socket.io connection-state recovery).</summary>
    public bool OffersRecovery { get; }

    public GatewayOptions Options { get; }

    public ILogger Logger { get; }

    public string[] NamespaceNames { get; }

    public byte[][] Namespaces { get; }

    public byte[] PathBytes { get; }

    public byte[][] CorsOrigins { get; }

    public bool CorsAnyOrigin { get; }

    public GatewayMetrics Metrics { get; }

    public BroadcastRing Ring { get; }

    public ChannelRegistry Channels { get; }

    public FanOut<EngineSession> FanOut { get; }

    public TimingWheel Wheel { get; }

    public Broadcaster Broadcaster { get; }

    /// <summary>Index of a configured namespace, or -1.</summary>
    public int FindNamespace(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < Namespaces.Length; i++)
        {
            if (name.SequenceEqual(Namespaces[i]))
            {
                return i;
            }
        }

        return -1;
    }

    public int FindNamespace(string name) => Array.IndexOf(NamespaceNames, name);

    /// <summary>Sessions that can be addressed by sid (polling, or polling being upgraded).</summary>
    public bool TryGetSession(ReadOnlySpan<byte> sid, out EngineSession? session)
    {
        if (sid.Length is 0 or > 64)
        {
            session = null;
            return false;
        }

        // Sids are ASCII; the lookup needs a string key.
        return _sessions.TryGetValue(Encoding.ASCII.GetString(sid), out session);
    }

    public void Register(EngineSession session) => _sessions[session.Sid] = session;

    public void Unregister(EngineSession session) => _sessions.TryRemove(new KeyValuePair<string, EngineSession>(session.Sid, session));

    /// <summary>Closes every session's transport (admin drain; clients reconnect).</summary>
    public int CloseAll(CloseReason reason)
    {
        int closed = 0;
        FanOut.ForEach(session =>
        {
            if (session.Close(reason, clientInitiated: false))
            {
                closed++;
            }
        });
        return closed;
    }

    /// <summary>Sends a DISCONNECT for one namespace to every socket in it; sessions stay open.</summary>
    public int DisconnectNamespace(int namespaceIndex)
    {
        int disconnected = 0;
        FanOut.ForEach(session =>
        {
            if (session.DisconnectNamespace(namespaceIndex))
            {
                disconnected++;
            }
        });
        return disconnected;
    }

    /// <summary>Starts the fan-out workers and the timing wheel (the hosted <c>RuntimeService</c> calls it).</summary>
    public void Start()
    {
        FanOut.Start();
        Wheel.Start();
    }

    public void Dispose()
    {
        Region?.Dispose();
        FanOut.Dispose();
        Wheel.Dispose();
        Metrics.Dispose();
    }
}
