using System.Collections.Concurrent;
using System.Text;
using Gateway.Answers;
using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.Events;
using Gateway.Identity;
using Gateway.Prompts;
using Gateway.Recovery;
using Gateway.Region;
using Gateway.Time;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.EngineIO;

/// <summary>
/// The process-wide parts every session uses: options in the form the hot paths want, the delivery pieces (ring,
/// fan-out, metrics), the timing wheel, the session table, and the ports (prompt source, recovery, answers) whose
/// implementations the composition root chose. One instance per gateway (a DI singleton).
/// </summary>
internal sealed class GatewayRuntime : IDisposable
{
    private readonly ConcurrentDictionary<string, EngineSession> _sessions = new(StringComparer.Ordinal);

    private readonly bool _ownsContext;

    /// <summary>An embedded gateway built by hand (benchmarks, in-process tests): its own delivery pieces, no Redis.</summary>
    public GatewayRuntime(IOptions<GatewayOptions> options, ILoggerFactory loggerFactory, TimeProvider? time = null)
        : this(options, loggerFactory, new BroadcastContext(options, loggerFactory, time), time ?? TimeProvider.System)
    {
    }

    private GatewayRuntime(IOptions<GatewayOptions> options, ILoggerFactory loggerFactory, BroadcastContext context, TimeProvider time)
        : this(options, loggerFactory, context, new EmbeddedPromptSource(context, time), NoRecovery.Instance, EmbeddedAnswerSink.Instance, NoPeers.Instance, time)
    {
        _ownsContext = true;
    }

    /// <summary>The composition root's runtime: the ports are the implementations it registered.</summary>
    [ActivatorUtilitiesConstructor]
    public GatewayRuntime(IOptions<GatewayOptions> options, ILoggerFactory loggerFactory, BroadcastContext context, IPromptSource prompts, IRecovery recovery, IAnswerSink answers, IRegionPeers peers, TimeProvider time)
    {
        Options = options.Value;
        Time = time;
        LoggerFactory = loggerFactory;
        Logger = loggerFactory.CreateLogger("Gateway.Connections");
        Context = context;
        // Copied, not forwarded: the fan-out reads the ring per socket and pays no extra indirection.
        NamespaceNames = context.NamespaceNames;
        Namespaces = context.Namespaces;
        Metrics = context.Metrics;
        Ring = context.Ring;
        Channels = context.Channels;
        FanOut = context.FanOut;
        Broadcaster = context.Broadcaster;
        SharedTally = context.Tracker?.Shared;
        PathBytes = Encoding.ASCII.GetBytes(Options.Path);
        CorsOrigins = Options.Cors.Origins.Select(o => Encoding.ASCII.GetBytes(o)).ToArray();
        CorsAnyOrigin = Options.Cors.Origins.Contains("*");
        // Resolution 1% of the shortest heartbeat period: 100 ms with socket.io's defaults, ~2 ms when a test runs
        // 300/200 ms heartbeats and expects a timeout to the millisecond.
        Metrics.DescribeCloseReasons(CloseReasons.Names);
        Wheel = new TimingWheel(time, loggerFactory.CreateLogger<TimingWheel>(), tickMs: Math.Clamp(Math.Min(Options.PingInterval, Options.PingTimeout) / 100, 1, 100));
        Prompts = prompts;
        Recovery = recovery;
        Answers = answers;
        Peers = peers;
        Membership = new ChannelMembership(Options, Channels, Metrics);
        Events = new ApplicationEvents(
            new PromptEvents(Options, Membership, prompts, answers, recovery, Metrics, time, context.Reveals),
            new DiagnosticEvents(Options.Diagnostics.Echo),
            Metrics);
        OffersRecovery = recovery.Offered;
        ViewerTokens = ViewerTokens.Create(Options.Auth.Jwt);
        Admission = new Admission(this);
        Drain = new SessionDrain(this, time);
    }

    /// <summary>Viewer identity: checks the CONNECT token; null when <c>Gateway:Auth:Jwt</c> is off.</summary>
    public ViewerTokens? ViewerTokens { get; }

    public ILoggerFactory LoggerFactory { get; }

    /// <summary>The clock of the wheel and of the transport's deadlines (a fake one in tests).</summary>
    public TimeProvider Time { get; }

    /// <summary>Answers stored through this gateway, per prompt and choice (the operator console's tally).</summary>
    public AnswerTally AnswerTally { get; } = new();

    private volatile bool _stopping;

    /// <summary>
    /// Set by the ordered shutdown once the drain is over: HTTP connections end after their current request (the
    /// drain itself refuses new sessions, <see cref="SessionDrain.RefusesSessions"/>).
    /// </summary>
    public bool Stopping
    {
        get => _stopping;
        set => _stopping = value;
    }

    /// <summary>The delivery pieces (ring, fan-out, broadcaster, metrics, namespaces), shared with the prompt source.</summary>
    public BroadcastContext Context { get; }

    /// <summary>Where prompts come from: readiness, the position a socket joins at, the admin publish.</summary>
    public IPromptSource Prompts { get; }

    /// <summary>Connection-state recovery: pids, session records, recovery requests.</summary>
    public IRecovery Recovery { get; }

    /// <summary>Where answers go.</summary>
    public IAnswerSink Answers { get; }

    /// <summary>The other gateways of the region: where a request for a session this one does not hold belongs.</summary>
    public IRegionPeers Peers { get; }

    /// <summary>What clients' events do (the application above Socket.IO).</summary>
    public ApplicationEvents Events { get; }

    /// <summary>CONNECT replies carry a pid and prompts their offset (<see cref="IRecovery.Offered"/>, read once).</summary>
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

    /// <summary>Where sockets join and leave channels (the registry's member counts follow them).</summary>
    public ChannelMembership Membership { get; }

    public FanOut FanOut { get; }

    public TimingWheel Wheel { get; }

    /// <summary>Connection and session limits, and the refusal every limit answers with.</summary>
    public Admission Admission { get; }

    /// <summary>The paced drain (SIGTERM, <c>POST /v1/drain</c>): readiness, refusal of new sessions, paced closes.</summary>
    public SessionDrain Drain { get; }

    public Broadcaster Broadcaster { get; }

    /// <summary>Counts broadcast writes made off the fan-out threads for the prompt lifecycle (null: not tracked).</summary>
    public DeliveryTally? SharedTally { get; }

    /// <summary>Index of a configured namespace, or -1.</summary>
    public int FindNamespace(ReadOnlySpan<byte> name) => Context.FindNamespace(name);

    public int FindNamespace(string name) => Context.FindNamespace(name);

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

    /// <summary>Closes every session's transport at once (admin disconnect, stream gap, shutdown's stragglers; clients reconnect).</summary>
    public int CloseAll(CloseReason reason)
    {
        int closed = 0;
        FanOut.ForEach(member =>
        {
            if (((EngineSession)member).Close(reason, clientInitiated: false))
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
        FanOut.ForEach(member =>
        {
            if (((EngineSession)member).DisconnectNamespace(namespaceIndex))
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
        Drain.Dispose();
        Wheel.Dispose();
        if (_ownsContext)
        {
            (Prompts as IDisposable)?.Dispose();
            Context.Dispose();
        }
    }
}
