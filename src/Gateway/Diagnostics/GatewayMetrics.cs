using System.Diagnostics.Metrics;
using System.Reflection;
using Gateway.Protocol.Buffers;

namespace Gateway.Diagnostics;

/// <summary>
/// Process-wide counters. Gauges read plain fields (updated with <see cref="Interlocked"/>) so the hot paths pay one
/// atomic add, never a lock or allocation.
/// </summary>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "Gateway";

    // Gateways built so far in this process (one in production; tests run several side by side).
    private static int s_instances;

    private readonly Meter _meter;
    private long _websocketSessions;
    private long _pollingSessions;
    private readonly long[] _namespaceSockets;
    private long _slowConsumers;
    private long _memoryTrims;
    private long _unknownEvents;
    private long _protocolErrors;
    private long _published;
    private long _heartbeatTimeouts;
    private long _sessionsOpened;
    private long _sessionsUpgraded;
    private long _regionForwarded;
    private long _regionForwardFailed;
    private long _regionTakenOver;
    // Indexed by the close reason's number; its names come from the layer that defines the reasons.
    private readonly long[] _sessionsClosed = new long[MaxCloseReasons];
    private KeyValuePair<string, object?>[] _closeReasonTags = [];
    private readonly ReasonCounters _channelsRefused = new();
    // Indexed by RefusalReason.
    private readonly long[] _refused = new long[RefusalReasons.Count];
    private readonly KeyValuePair<string, object?>[] _refusalTags =
        RefusalReasons.Labels.Select(label => new KeyValuePair<string, object?>("reason", label)).ToArray();

    // Redis mode.
    private long _streamEntries;
    private long _streamDuplicates;
    private long _streamInvalid;
    private long _streamGaps;
    private long _streamLate;
    private long _recovered;
    private long _notRecovered;
    private long _answersWritten;
    private long _answersRefused;

    // Histograms (seconds, Prometheus "_seconds"), recorded once per prompt, handshake or stream entry.
    private readonly Histogram<double> _fanOutDuration;
    private readonly Histogram<double> _handshakeDuration;
    private readonly Histogram<double> _streamLag;
    private Func<long>? _ringLag;

    // Drain (SIGTERM, POST /v1/drain).
    private int _draining;
    private long _drainClosed;

    /// <summary>Close reasons a session can be counted under (<see cref="SessionClosed"/>).</summary>
    public const int MaxCloseReasons = 32;

    /// <summary>
    /// Buckets for fan-out and stream lag, 1 ms … 10 s: a prompt to a few sockets takes about a millisecond, to
    /// 18,000 on two cores about 250 ms, and anything past seconds is an incident.
    /// </summary>
    public static readonly double[] DelayBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Buckets for handshakes (request head's first byte → open packet): sub-millisecond … a stalled client.</summary>
    public static readonly double[] HandshakeBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10];

    public GatewayMetrics(IReadOnlyList<string> namespaces)
    {
        Namespaces = namespaces;
        _namespaceSockets = new long[namespaces.Count];
        // The first gateway of a process meters as "Gateway"; others (tests run several in one process) under a name of
        // their own. OpenTelemetry merges the instruments of same-named meters into one stream, and the disposal of
        // one gateway's meter would end that stream for every other gateway's /metrics.
        int instance = Interlocked.Increment(ref s_instances);
        Name = instance == 1 ? MeterName : $"{MeterName}.{instance}";
        _meter = new Meter(Name);
        _meter.CreateObservableGauge("gateway.connections", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref _websocketSessions), new KeyValuePair<string, object?>("transport", "websocket")),
            new Measurement<long>(Volatile.Read(ref _pollingSessions), new KeyValuePair<string, object?>("transport", "polling")),
        }, description: "Open Engine.IO sessions by transport");
        _meter.CreateObservableCounter("gateway.sessions.opened", () => Volatile.Read(ref _sessionsOpened), description: "Engine.IO sessions opened");
        _meter.CreateObservableCounter("gateway.sessions.upgraded", () => Volatile.Read(ref _sessionsUpgraded), description: "Polling sessions upgraded to WebSocket");
        _meter.CreateObservableCounter("gateway.region.forwarded", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref _regionForwarded), new KeyValuePair<string, object?>("outcome", "answered")),
            new Measurement<long>(Volatile.Read(ref _regionForwardFailed), new KeyValuePair<string, object?>("outcome", "failed")),
        }, description: "Polling requests forwarded to the gateway of the region that holds their session");
        _meter.CreateObservableCounter("gateway.region.taken_over", () => Volatile.Read(ref _regionTakenOver), description: "Sessions taken over from another gateway of the region (their WebSocket upgrade landed here)");
        _meter.CreateObservableCounter("gateway.sessions.closed", SessionsClosedByReason, description: "Engine.IO sessions closed, by reason");
        _meter.CreateObservableCounter("gateway.slow_consumers", () => Volatile.Read(ref _slowConsumers), description: "Sockets closed for falling behind");
        _meter.CreateObservableCounter("gateway.memory.trims", () => Volatile.Read(ref _memoryTrims), description: "Aggressive collections after a peak that gave memory back to the OS (Gateway:Memory:TrimAfterQuiet)");
        _meter.CreateObservableCounter("gateway.unknown_events", () => Volatile.Read(ref _unknownEvents), description: "Client events no handler knows");
        _meter.CreateObservableCounter("gateway.protocol_errors", () => Volatile.Read(ref _protocolErrors), description: "Connections ended for bad input");
        _meter.CreateObservableCounter("gateway.published", () => Volatile.Read(ref _published), description: "Messages put into the broadcast ring");
        _meter.CreateObservableCounter("gateway.heartbeat_timeouts", () => Volatile.Read(ref _heartbeatTimeouts), description: "Sessions closed for a missing pong");
        _meter.CreateObservableCounter("gateway.connections.refused", RefusedByReason, description: "Connections and handshakes refused (503, 403) or closed before they became viewers, by reason");
        _meter.CreateObservableCounter("gateway.stream.entries", () => Volatile.Read(ref _streamEntries), description: "Prompt stream entries delivered into the ring");
        _meter.CreateObservableCounter("gateway.stream.duplicates", () => Volatile.Read(ref _streamDuplicates), description: "Prompt stream entries skipped: prompt id already delivered");
        _meter.CreateObservableCounter("gateway.stream.invalid", () => Volatile.Read(ref _streamInvalid), description: "Prompt stream entries skipped: not a valid prompt");
        _meter.CreateObservableCounter("gateway.stream.gaps", () => Volatile.Read(ref _streamGaps), description: "Prompt stream gaps: entries trimmed before this gateway read them, or the stream replaced");
        _meter.CreateObservableCounter("gateway.stream.late", () => Volatile.Read(ref _streamLate), description: "Prompt stream entries that became readable after a later one was delivered");
        _meter.CreateObservableCounter("gateway.recovery", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref _recovered), new KeyValuePair<string, object?>("result", "recovered")),
            new Measurement<long>(Volatile.Read(ref _notRecovered), new KeyValuePair<string, object?>("result", "not_recovered")),
        }, description: "Reconnections that asked for connection-state recovery");
        _meter.CreateObservableCounter("gateway.answers", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref _answersWritten), new KeyValuePair<string, object?>("result", "written")),
            new Measurement<long>(Volatile.Read(ref _answersRefused), new KeyValuePair<string, object?>("result", "refused")),
        }, description: "Answers written to the answers stream, or refused");
        _meter.CreateObservableCounter("gateway.channels.refused", _channelsRefused.Measure, description: "Channel joins and publishes refused, by reason");
        _fanOutDuration = _meter.CreateHistogram("gateway.prompt.fanout.duration", "s", "Per prompt: publish (or timed reveal) to the last socket written (to the fan-out's pass over it when it had no recipient here)", tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = DelayBuckets });
        _handshakeDuration = _meter.CreateHistogram("gateway.handshake.duration", "s", "Engine.IO handshake: the request's first byte to the open packet written", tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = HandshakeBuckets });
        _streamLag = _meter.CreateHistogram("gateway.stream.lag", "s", "Redis mode: prompt stream entry time (or reveal, when later) to the ring", tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = DelayBuckets });
        _meter.CreateObservableCounter("gateway.network.sent", BytesSent.Sum, "By", "Bytes handed to client sockets (public port)");
        _meter.CreateObservableCounter("gateway.network.received", BytesReceived.Sum, "By", "Bytes read from client sockets (public port)");
        _meter.CreateObservableGauge("gateway.ring.lag", () => _ringLag?.Invoke() ?? 0, "{message}", "Ring messages the slowest socket has not been sent yet (as of the fan-out's last pass)");
        _meter.CreateObservableGauge("gateway.build.info", () => new Measurement<long>(1, BuildTags), description: "The gateway's version and runtime (value 1)");
        _meter.CreateObservableGauge("gateway.drain.remaining", () => DrainRemaining, description: "Sessions a drain in progress has yet to close (0 when not draining)");
        _meter.CreateObservableCounter("gateway.drain.closed", () => Volatile.Read(ref _drainClosed), description: "Sessions closed by drains, paced across the drain window");
        _meter.CreateObservableGauge("gateway.pool.rented_buffers", () => RentedBuffers, description: "Pooled byte arrays rented and not returned (connections' buffers: 0 when none is open; process-wide)");
        _meter.CreateObservableGauge("gateway.pool.rented", () => RentedBufferBytes, "By", "Bytes of the pooled arrays rented and not returned (process-wide)");
    }

    public IReadOnlyList<string> Namespaces { get; }

    /// <summary>This instance's meter name: <see cref="MeterName"/>, or <c>Gateway.N</c> for the N-th gateway of a process.</summary>
    public string Name { get; }

    /// <summary>Bytes flushed to client sockets.</summary>
    public StripedCounter BytesSent { get; } = new();

    /// <summary>Bytes read from client sockets.</summary>
    public StripedCounter BytesReceived { get; } = new();

    private static readonly KeyValuePair<string, object?>[] BuildTags =
    [
        new("version", typeof(GatewayMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown"),
        new("runtime", Environment.Version.ToString()),
    ];

    /// <summary>Where the ring lag gauge reads from (the delivery pieces, which this layer cannot name).</summary>
    internal void ObserveRingLag(Func<long> lag) => _ringLag = lag;

    /// <summary>A prompt's fan-out completed: publish (or reveal) → last socket written.</summary>
    internal void PromptFannedOut(double seconds) => _fanOutDuration.Record(seconds);

    /// <summary>An Engine.IO session was opened <paramref name="seconds"/> after its request began.</summary>
    internal void Handshake(double seconds) => _handshakeDuration.Record(seconds);

    /// <summary>A prompt stream entry entered the ring <paramref name="seconds"/> after it became visible.</summary>
    internal void StreamLag(double seconds) => _streamLag.Record(seconds);

    public long WebSocketSessions => Volatile.Read(ref _websocketSessions);

    public long PollingSessions => Volatile.Read(ref _pollingSessions);

    public long Connections => WebSocketSessions + PollingSessions;

    public long SlowConsumers => Volatile.Read(ref _slowConsumers);

    public long UnknownEvents => Volatile.Read(ref _unknownEvents);

    public long ProtocolErrors => Volatile.Read(ref _protocolErrors);

    /// <summary>Pooled arrays rented and not returned, process-wide (<see cref="BufferPool"/>): 0 with no connection open.</summary>
    public long RentedBuffers => BufferPool.RentedArrays;

    /// <summary>Their bytes.</summary>
    public long RentedBufferBytes => BufferPool.RentedBytes;

    public long Published => Volatile.Read(ref _published);

    public long HeartbeatTimeouts => Volatile.Read(ref _heartbeatTimeouts);

    /// <summary>Every refusal, whatever its reason.</summary>
    public long ConnectionsRefused
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _refused.Length; i++)
            {
                total += Volatile.Read(ref _refused[i]);
            }

            return total;
        }
    }

    /// <summary>Refusals for <paramref name="reason"/>.</summary>
    public long Refused(RefusalReason reason) => Volatile.Read(ref _refused[(int)reason]);

    internal void Refusal(RefusalReason reason) => Interlocked.Increment(ref _refused[(int)reason]);

    private IEnumerable<Measurement<long>> RefusedByReason()
    {
        var measurements = new Measurement<long>[_refused.Length];
        for (int i = 0; i < measurements.Length; i++)
        {
            measurements[i] = new Measurement<long>(Volatile.Read(ref _refused[i]), _refusalTags[i]);
        }

        return measurements;
    }

    public long SessionsOpened => Volatile.Read(ref _sessionsOpened);

    public long SessionsUpgraded => Volatile.Read(ref _sessionsUpgraded);

    /// <summary>The close reasons' names, by number (see <see cref="DescribeCloseReasons"/>).</summary>
    public IReadOnlyList<string> CloseReasonNames { get; private set; } = [];

    /// <summary>Sessions closed for the reason numbered <paramref name="reason"/>.</summary>
    public long SessionsClosed(int reason) => Volatile.Read(ref _sessionsClosed[reason]);

    public long StreamEntries => Volatile.Read(ref _streamEntries);

    public long StreamDuplicates => Volatile.Read(ref _streamDuplicates);

    public long StreamInvalid => Volatile.Read(ref _streamInvalid);

    public long StreamGaps => Volatile.Read(ref _streamGaps);

    public long StreamLate => Volatile.Read(ref _streamLate);

    public long Recovered => Volatile.Read(ref _recovered);

    public long NotRecovered => Volatile.Read(ref _notRecovered);

    public long AnswersWritten => Volatile.Read(ref _answersWritten);

    public long AnswersRefused => Volatile.Read(ref _answersRefused);

    /// <summary>Sessions still open while a drain is in progress (new ones are refused then), else 0.</summary>
    public long DrainRemaining => Volatile.Read(ref _draining) != 0 ? Connections : 0;

    /// <summary>Sessions closed by drains so far (every drain of this process).</summary>
    public long DrainClosed => Volatile.Read(ref _drainClosed);

    internal void Draining(bool draining) => Volatile.Write(ref _draining, draining ? 1 : 0);

    internal void DrainClosedSession() => Interlocked.Increment(ref _drainClosed);

    internal void StreamEntry() => Interlocked.Increment(ref _streamEntries);

    internal void StreamDuplicate() => Interlocked.Increment(ref _streamDuplicates);

    internal void StreamInvalidEntry() => Interlocked.Increment(ref _streamInvalid);

    internal void StreamGap() => Interlocked.Increment(ref _streamGaps);

    internal void StreamLateEntry() => Interlocked.Increment(ref _streamLate);

    internal void Recovery(bool recovered) => Interlocked.Increment(ref recovered ? ref _recovered : ref _notRecovered);

    internal void AnswerWritten() => Interlocked.Increment(ref _answersWritten);

    internal void AnswerRefused() => Interlocked.Increment(ref _answersRefused);

    public long NamespaceSockets(int index) => Volatile.Read(ref _namespaceSockets[index]);

    internal void SessionOpened(bool websocket)
    {
        Interlocked.Increment(ref websocket ? ref _websocketSessions : ref _pollingSessions);
        Interlocked.Increment(ref _sessionsOpened);
    }

    internal void RegionForwarded(bool answered) => Interlocked.Increment(ref answered ? ref _regionForwarded : ref _regionForwardFailed);

    internal void RegionTakenOver() => Interlocked.Increment(ref _regionTakenOver);

    public long RegionForwardedRequests => Volatile.Read(ref _regionForwarded);

    public long RegionTakenOverSessions => Volatile.Read(ref _regionTakenOver);

    internal void SessionUpgraded()
    {
        Interlocked.Increment(ref _sessionsUpgraded);
        Interlocked.Decrement(ref _pollingSessions);
        Interlocked.Increment(ref _websocketSessions);
    }

    internal void SessionClosed(bool websocket, int reason)
    {
        Interlocked.Decrement(ref websocket ? ref _websocketSessions : ref _pollingSessions);
        Interlocked.Increment(ref _sessionsClosed[reason]);
    }

    /// <summary>Names the close reasons (the metric's <c>reason</c> tag), by number.</summary>
    internal void DescribeCloseReasons(IReadOnlyList<string> names)
    {
        if (names.Count > MaxCloseReasons)
        {
            throw new ArgumentOutOfRangeException(nameof(names), names.Count, $"at most {MaxCloseReasons} close reasons");
        }

        CloseReasonNames = names.ToArray();
        _closeReasonTags = names.Select(name => new KeyValuePair<string, object?>("reason", name)).ToArray();
    }

    private IEnumerable<Measurement<long>> SessionsClosedByReason()
    {
        KeyValuePair<string, object?>[] tags = _closeReasonTags;
        var measurements = new Measurement<long>[tags.Length];
        for (int i = 0; i < measurements.Length; i++)
        {
            measurements[i] = new Measurement<long>(Volatile.Read(ref _sessionsClosed[i]), tags[i]);
        }

        return measurements;
    }

    internal void NamespaceJoined(int index) => Interlocked.Increment(ref _namespaceSockets[index]);

    internal void NamespaceLeft(int index) => Interlocked.Decrement(ref _namespaceSockets[index]);

    internal void SlowConsumer() => Interlocked.Increment(ref _slowConsumers);

    internal void MemoryTrimmed() => Interlocked.Increment(ref _memoryTrims);

    public long MemoryTrims => Volatile.Read(ref _memoryTrims);

    internal void UnknownEvent() => Interlocked.Increment(ref _unknownEvents);

    internal void ProtocolError() => Interlocked.Increment(ref _protocolErrors);

    internal void MessagePublished() => Interlocked.Increment(ref _published);

    internal void HeartbeatTimeout() => Interlocked.Increment(ref _heartbeatTimeouts);

    /// <summary>Names the channel refusals (the metric's <c>reason</c> tag), by number; number 0 (none) is not reported.</summary>
    internal void DescribeChannelRefusals(IReadOnlyList<string> names) => _channelsRefused.Describe(names, skipFirst: true);

    internal void ChannelRefused(int reason) => _channelsRefused.Increment(reason);

    /// <summary>Channel refusals for the reason numbered <paramref name="reason"/>.</summary>
    public long ChannelsRefused(int reason) => _channelsRefused.Get(reason);

    /// <summary>Channel refusals by reason name (for <c>/v1/stats</c>).</summary>
    public Dictionary<string, long> ChannelsRefusedByReason() => _channelsRefused.ByName();

    public void Dispose() => _meter.Dispose();
}
