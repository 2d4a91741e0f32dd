using System.Diagnostics.Metrics;

namespace Gateway.Diagnostics;

/// <summary>
/// Process-wide counters. Gauges read plain fields (updated with <see cref="Interlocked"/>) so the hot paths pay one
/// atomic add, never a lock or allocation.
/// </summary>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "Gateway";

    private readonly Meter _meter;
    private long _websocketSessions;
    private long _pollingSessions;
    private readonly long[] _namespaceSockets;
    private long _slowConsumers;
    private long _unknownEvents;
    private long _protocolErrors;
    private long _published;
    private long _heartbeatTimeouts;
    private long _sessionsOpened;
    // Indexed by the close reason's number; its names come from the layer that defines the reasons.
    private readonly long[] _sessionsClosed = new long[MaxCloseReasons];
    private KeyValuePair<string, object?>[] _closeReasonTags = [];
    private long _connectionsRefused;

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

    // Drain (SIGTERM, POST /v1/drain).
    private int _draining;
    private long _drainClosed;

    /// <summary>Close reasons a session can be counted under (<see cref="SessionClosed"/>).</summary>
    public const int MaxCloseReasons = 32;

    public GatewayMetrics(IReadOnlyList<string> namespaces)
    {
        Namespaces = namespaces;
        _namespaceSockets = new long[namespaces.Count];
        _meter = new Meter(MeterName);
        _meter.CreateObservableGauge("gateway.connections", () => new[]
        {
            new Measurement<long>(Volatile.Read(ref _websocketSessions), new KeyValuePair<string, object?>("transport", "websocket")),
            new Measurement<long>(Volatile.Read(ref _pollingSessions), new KeyValuePair<string, object?>("transport", "polling")),
        }, description: "Open Engine.IO sessions by transport");
        _meter.CreateObservableCounter("gateway.sessions.opened", () => Volatile.Read(ref _sessionsOpened), description: "Engine.IO sessions opened");
        _meter.CreateObservableCounter("gateway.sessions.closed", SessionsClosedByReason, description: "Engine.IO sessions closed, by reason");
        _meter.CreateObservableCounter("gateway.slow_consumers", () => Volatile.Read(ref _slowConsumers), description: "Sockets closed for falling behind");
        _meter.CreateObservableCounter("gateway.unknown_events", () => Volatile.Read(ref _unknownEvents), description: "Client events no handler knows");
        _meter.CreateObservableCounter("gateway.protocol_errors", () => Volatile.Read(ref _protocolErrors), description: "Connections ended for bad input");
        _meter.CreateObservableCounter("gateway.published", () => Volatile.Read(ref _published), description: "Messages put into the broadcast ring");
        _meter.CreateObservableCounter("gateway.heartbeat_timeouts", () => Volatile.Read(ref _heartbeatTimeouts), description: "Sessions closed for a missing pong");
        _meter.CreateObservableCounter("gateway.connections_refused", () => Volatile.Read(ref _connectionsRefused), description: "TCP connections answered 503 at Gateway:MaxConnections");
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
        _meter.CreateObservableGauge("gateway.drain.remaining", () => DrainRemaining, description: "Sessions a drain in progress has yet to close (0 when not draining)");
        _meter.CreateObservableCounter("gateway.drain.closed", () => Volatile.Read(ref _drainClosed), description: "Sessions closed by drains, paced across the drain window");
    }

    public IReadOnlyList<string> Namespaces { get; }

    public long WebSocketSessions => Volatile.Read(ref _websocketSessions);

    public long PollingSessions => Volatile.Read(ref _pollingSessions);

    public long Connections => WebSocketSessions + PollingSessions;

    public long SlowConsumers => Volatile.Read(ref _slowConsumers);

    public long UnknownEvents => Volatile.Read(ref _unknownEvents);

    public long ProtocolErrors => Volatile.Read(ref _protocolErrors);

    public long Published => Volatile.Read(ref _published);

    public long HeartbeatTimeouts => Volatile.Read(ref _heartbeatTimeouts);

    public long ConnectionsRefused => Volatile.Read(ref _connectionsRefused);

    internal void ConnectionRefused() => Interlocked.Increment(ref _connectionsRefused);

    public long SessionsOpened => Volatile.Read(ref _sessionsOpened);

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

    internal void SessionUpgraded()
    {
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

    internal void UnknownEvent() => Interlocked.Increment(ref _unknownEvents);

    internal void ProtocolError() => Interlocked.Increment(ref _protocolErrors);

    internal void MessagePublished() => Interlocked.Increment(ref _published);

    internal void HeartbeatTimeout() => Interlocked.Increment(ref _heartbeatTimeouts);

    public void Dispose() => _meter.Dispose();
}
