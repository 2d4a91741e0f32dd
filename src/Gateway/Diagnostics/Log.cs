using Microsoft.Extensions.Logging;

namespace Gateway.Diagnostics;

/// <summary>Log events of the public port. Client faults are Debug; Error is for gateway bugs.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Session {Sid} closed: {Reason}")]
    public static partial void SessionClosed(ILogger logger, string sid, string reason);

    [LoggerMessage(2, LogLevel.Debug, "Connection {ConnectionId} sent bad input: {Error}")]
    public static partial void BadInput(ILogger logger, string connectionId, string error);

    [LoggerMessage(3, LogLevel.Debug, "Connection {ConnectionId} reset by peer")]
    public static partial void ConnectionReset(ILogger logger, string connectionId);

    [LoggerMessage(4, LogLevel.Error, "Connection {ConnectionId} failed")]
    public static partial void ConnectionFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(8, LogLevel.Information, "Socket.IO listening on {EndPoint} (at most {MaxConnections} connections)")]
    public static partial void Listening(ILogger logger, string endPoint, int maxConnections);

    [LoggerMessage(7, LogLevel.Error, "Accepting a connection failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(5, LogLevel.Information, "Slow consumer {Sid} disconnected: {Reason}")]
    public static partial void SlowConsumer(ILogger logger, string sid, string reason);

    [LoggerMessage(6, LogLevel.Error, "Fan-out worker {Worker} failed")]
    public static partial void FanOutFailed(ILogger logger, int worker, Exception exception);

    [LoggerMessage(9, LogLevel.Error, "Fan-out worker {Worker}: a member failed and is closed")]
    public static partial void FanOutMemberFailed(ILogger logger, int worker, Exception exception);

    [LoggerMessage(20, LogLevel.Warning, "Redis: {Reason}")]
    public static partial void RedisUnavailable(ILogger logger, string reason, Exception? exception);

    [LoggerMessage(21, LogLevel.Information, "Redis: reading {Stream} from {Cursor}")]
    public static partial void StreamResumed(ILogger logger, string stream, string cursor);

    [LoggerMessage(22, LogLevel.Warning, "Prompt stream {Stream}: {What}; sockets are closed so clients resynchronise (recovery answers recovered: false where their offset is gone)")]
    public static partial void StreamGap(ILogger logger, string stream, string what);

    [LoggerMessage(23, LogLevel.Warning, "Prompt stream entry {EntryId} skipped: {Reason}")]
    public static partial void InvalidEntry(ILogger logger, string entryId, string reason);

    [LoggerMessage(24, LogLevel.Error, "Redis loop {Loop} failed")]
    public static partial void RedisLoopFailed(ILogger logger, string loop, Exception exception);

    [LoggerMessage(60, LogLevel.Information, "Drain started ({Cause}): readiness 503, new sessions refused; {Sessions} sessions close in random order over {WindowMs} ms after {DelayMs} ms")]
    public static partial void DrainStarted(ILogger logger, string cause, long sessions, int delayMs, int windowMs);

    [LoggerMessage(61, LogLevel.Information, "Drain closing {Sessions} sessions, one every {IntervalMs} ms")]
    public static partial void DrainClosing(ILogger logger, int sessions, double intervalMs);

    [LoggerMessage(62, LogLevel.Information, "Drain done: {Closed} sessions closed")]
    public static partial void DrainDone(ILogger logger, long closed);

    [LoggerMessage(63, LogLevel.Information, "Drain stopped (undrain): {Closed} sessions closed, {Remaining} stay; new sessions welcome again")]
    public static partial void DrainUndone(ILogger logger, long closed, long remaining);

    [LoggerMessage(64, LogLevel.Warning, "Shutdown timeout reached during the drain: the {Remaining} sessions left are closed at once")]
    public static partial void DrainCutShort(ILogger logger, long remaining);
}
