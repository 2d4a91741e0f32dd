using System.Net;
using Microsoft.Extensions.Logging;

namespace Gateway.Diagnostics;

/// <summary>
/// Every log event of the gateway, each with a fixed id (operators filter on <c>EventId</c> in the JSON lines):
/// 1–19 connections and sessions, 20–29 Redis, 30–39 prompts, 40–49 aggregates, 50–59 timers, 60–69 the PROXY
/// header, 70–79 the drain, 80–89 the process (memory trim, warm-up). Per-connection events are Debug (a show has
/// hundreds of thousands of sockets); Information is per prompt or per interval; Error is for gateway bugs.
/// </summary>
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

    [LoggerMessage(10, LogLevel.Debug, "Session {Sid} opened on {Transport}")]
    public static partial void SessionOpened(ILogger logger, string sid, string transport);

    [LoggerMessage(5, LogLevel.Debug, "Slow consumer {Sid} disconnected: {Reason}")]
    public static partial void SlowConsumer(ILogger logger, string sid, string reason);

    [LoggerMessage(6, LogLevel.Error, "Fan-out worker {Worker} failed")]
    public static partial void FanOutFailed(ILogger logger, int worker, Exception exception);

    [LoggerMessage(11, LogLevel.Warning, "Fan-out worker {Worker}: nice {Nice} refused (error {Error}); it runs at the process's priority. A negative value needs CAP_SYS_NICE or LimitNICE= in the systemd unit")]
    public static partial void FanOutNiceRefused(ILogger logger, int worker, int nice, int error);

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

    [LoggerMessage(30, LogLevel.Information, "Prompt {PromptId} (stream id {StreamId}, namespace {Namespace}, channel {Channel}, event {Event}, published {PublishedAt}, reveal {RevealAt}): {Recipients} recipients, first write {FirstWriteMs} ms, last write {LastWriteMs} ms, {SlowConsumers} slow consumers, stream lag {StreamLagMs} ms")]
    // Namespace and Event are capitalised so the JSON state carries them under those names ("@namespace" otherwise).
#pragma warning disable SA1313, IDE1006
    public static partial void PromptLifecycle(
        ILogger logger, string promptId, string? streamId, string Namespace, string? channel, string Event, long publishedAt, long? revealAt,
        long recipients, double? firstWriteMs, double? lastWriteMs, int slowConsumers, long? streamLagMs);
#pragma warning restore SA1313, IDE1006

    [LoggerMessage(40, LogLevel.Information, "Traffic over {IntervalMs} ms: {Opened} sessions opened, {Closed} closed ({ClosedByReason}), {Upgrades} upgrades, {Refused} connections refused; {Connections} open")]
    public static partial void Traffic(ILogger logger, long intervalMs, long opened, long closed, string closedByReason, long upgrades, long refused, long connections);

    [LoggerMessage(50, LogLevel.Error, "Timing wheel tick failed")]
    public static partial void WheelTickFailed(ILogger logger, Exception exception);

    [LoggerMessage(51, LogLevel.Error, "Timer callback failed")]
    public static partial void TimerFailed(ILogger logger, Exception exception);

    [LoggerMessage(60, LogLevel.Debug, "Connection {ConnectionId} from {ClientEndPoint} via {ProxyEndPoint} (PROXY v{Version})")]
    public static partial void ProxyHeaderRead(ILogger logger, string connectionId, EndPoint? clientEndPoint, EndPoint? proxyEndPoint, int version);

    [LoggerMessage(61, LogLevel.Debug, "Connection {ConnectionId} from {ProxyEndPoint} closed: no valid PROXY header ({Reason})")]
    public static partial void ProxyHeaderRefused(ILogger logger, string connectionId, EndPoint? proxyEndPoint, string reason);

    [LoggerMessage(70, LogLevel.Information, "Drain started ({Cause}): readiness 503, new sessions refused; {Sessions} sessions close in random order over {WindowMs} ms after {DelayMs} ms")]
    public static partial void DrainStarted(ILogger logger, string cause, long sessions, int delayMs, int windowMs);

    [LoggerMessage(71, LogLevel.Information, "Drain closing {Sessions} sessions, one every {IntervalMs} ms")]
    public static partial void DrainClosing(ILogger logger, int sessions, double intervalMs);

    [LoggerMessage(72, LogLevel.Information, "Drain done: {Closed} sessions closed")]
    public static partial void DrainDone(ILogger logger, long closed);

    [LoggerMessage(73, LogLevel.Information, "Drain stopped (undrain): {Closed} sessions closed, {Remaining} stay; new sessions welcome again")]
    public static partial void DrainUndone(ILogger logger, long closed, long remaining);

    [LoggerMessage(74, LogLevel.Warning, "Shutdown timeout reached during the drain: the {Remaining} sessions left are closed at once")]
    public static partial void DrainCutShort(ILogger logger, long remaining);

    [LoggerMessage(80, LogLevel.Information, "Memory trimmed after a quiet interval: heap {HeapMiB} MiB -> {LiveMiB} MiB live, resident {ResidentBeforeMiB} -> {ResidentAfterMiB} MiB")]
    public static partial void MemoryTrimmed(ILogger logger, long heapMiB, long liveMiB, long residentBeforeMiB, long residentAfterMiB);

    [LoggerMessage(81, LogLevel.Information, "Warmed up in {ElapsedMs} ms: the admin port's first requests answered /healthz {Health}, /readyz {Readiness}, a refused publish {Publish}")]
    public static partial void WarmedUp(ILogger logger, long elapsedMs, int health, int readiness, int publish);

    [LoggerMessage(82, LogLevel.Warning, "Warm-up of the admin port failed (the first publish pays its first-request costs): {Error}")]
    public static partial void WarmUpFailed(ILogger logger, string error);
}
