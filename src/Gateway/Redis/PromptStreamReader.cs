using System.Collections.Concurrent;
using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.Prompts;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StreamPosition = Gateway.Prompts.StreamPosition;

namespace Gateway.Redis;

/// <summary>
/// Pulls the region's prompt stream by cursor into the broadcast ring — the ring's only writer in Redis mode — and
/// answers connection-state recovery requests, on one loop so both see the same delivery state.
/// </summary>
/// <remarks>
/// This class does the I/O (reads by cursor, the stream's bookkeeping, the wake-up, the session records); what is
/// delivered and when — dedup by prompt id, holding until <c>reveal_at</c>, gap detection, what a recovering socket
/// missed — is decided by its <see cref="StreamDelivery"/>, which only this loop drives. Recovery requests are
/// served on the same loop (<c>PromptStreamReader.Recovery.cs</c>).
/// </remarks>
internal sealed partial class PromptStreamReader : BackgroundService
{
    private const int ReadBatch = 1000;
    private const int RecoveryAttempts = 5;

    private readonly GatewayOptions _options;
    private readonly BroadcastContext _context;
    private readonly RegionConnection _connection;
    private readonly RegionLiveness _liveness;
    private readonly PidSigner _signer;
    private readonly SessionStore _sessions;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly ConcurrentQueue<PendingRecovery> _recoveries = new();
    private readonly StreamDelivery _delivery;
    private readonly TimeProvider _time;

    // Loop state.
    private volatile bool _synced;
    private volatile bool _stopped;

    // Read by other threads.
    private volatile string? _notReady = "redis: connecting";
    private volatile bool _failing; // the last round failed (an outage, not the start)

    /// <summary>
    /// <paramref name="time"/> is the clock reveals are held by (a wall clock: <c>reveal_at</c> is ms since the Unix
    /// epoch); the system's when null.
    /// </summary>
    public PromptStreamReader(BroadcastContext context, RegionConnection connection, RegionLiveness liveness, PidSigner signer, SessionStore sessions, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _options = connection.Options;
        _context = context;
        _connection = connection;
        _liveness = liveness;
        _signer = signer;
        _sessions = sessions;
        _logger = connection.Logger;
        _delivery = new StreamDelivery(context, _options, connection.Prompts.Key!, _logger);
    }

    /// <summary>Null when the last round succeeded.</summary>
    public string? NotReadyReason => _notReady;

    /// <summary>Everything up to here has been put into the ring (read before the ring's head, see JoinLocked).</summary>
    public StreamPosition Position => _delivery.Position;

    public string Cursor => _delivery.CursorText;

    public int Held => _delivery.Held;

    /// <summary>The answer windows of the prompts read.</summary>
    public AnswerWindows AnswerWindows => _delivery.AnswerWindows;

    /// <summary>The wake-up channel's handler: read now.</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    /// <summary>
    /// Queues a recovery (a CONNECT with a pid). False when the reader cannot serve it now (Redis away): the caller
    /// connects the socket fresh, i.e. <c>recovered: false</c>.
    /// </summary>
    public bool TryRequestRecovery(PendingRecovery request)
    {
        // Still starting (a restarted gateway that clients rush back to, the first round may take a while): they wait
        // for it. In an outage: they connect fresh at once.
        if (_stopped || _failing || _connection.Connection is { IsConnected: false })
        {
            return false;
        }

        _recoveries.Enqueue(request);
        Wake();
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        CancellationToken stopping = stoppingToken;
        ConnectionMultiplexer redis;
        try
        {
            redis = await _connection.ConnectedAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _stopped = true;
            FailPendingRecoveries();
            return;
        }
        catch (Exception e)
        {
            _notReady = "redis: " + e.Message;
            Log.RedisLoopFailed(_logger, "connect", e);
            _stopped = true;
            FailPendingRecoveries();
            return;
        }

        // The wake-up only shortens the poll: until Redis takes the subscription, the reader polls.
        Task subscribing = SubscribeWakeAsync(redis, stopping);
        await ReadLoopAsync(redis.GetDatabase(), stopping).ConfigureAwait(false);
        await subscribing.ConfigureAwait(false);
    }

    /// <summary>
    /// Subscribes to the stream's wake-up channel, retrying until Redis takes it; StackExchange.Redis renews it after
    /// every reconnect.
    /// </summary>
    private async Task SubscribeWakeAsync(ConnectionMultiplexer redis, CancellationToken stopping)
    {
        for (int delayMs = 250; !stopping.IsCancellationRequested; delayMs = Math.Min(delayMs * 2, 2000))
        {
            try
            {
                await redis.GetSubscriber().SubscribeAsync(_connection.Prompts.WakeChannel, (_, _) => Wake()).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                try
                {
                    await Task.Delay(delayMs, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private async Task ReadLoopAsync(IDatabase db, CancellationToken stopping)
    {
        int backoffMs = 100;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await RoundAsync(db).ConfigureAwait(false);
                if (_notReady is not null)
                {
                    Log.StreamResumed(_logger, _connection.Prompts.Key!, _delivery.Cursor.ToString());
                }

                _notReady = null;
                _failing = false;
                backoffMs = 100;
                await WaitAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                if (_notReady is null)
                {
                    Log.RedisUnavailable(_logger, e.Message, null);
                }

                _notReady = "redis: " + e.Message;
                _failing = true;
                FailPendingRecoveries();
                try
                {
                    await Task.Delay(backoffMs, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoffMs = Math.Min(backoffMs * 2, 2000);
            }
            catch (Exception e)
            {
                // A bug, not an outage: report it, keep the gateway up, retry slowly.
                _notReady = "prompt reader failed: " + e.Message;
                _failing = true;
                Log.RedisLoopFailed(_logger, "prompt stream", e);
                FailPendingRecoveries();
                await Task.Delay(1000, CancellationToken.None).ConfigureAwait(false);
            }
        }

        _stopped = true;
        FailPendingRecoveries();
    }

    private async Task WaitAsync(CancellationToken stopping)
    {
        if (!_recoveries.IsEmpty)
        {
            // A recovery waiting for an entry another gateway has already delivered: read again soon.
            await Task.Delay(10, stopping).ConfigureAwait(false);
            return;
        }

        int timeout = _options.Redis.PollInterval;
        if (_delivery.TryPeekNextReveal(out long visibleAt))
        {
            timeout = (int)Math.Clamp(visibleAt - NowMs(), 0, timeout);
        }

        await _wake.WaitAsync(timeout, stopping).ConfigureAwait(false);
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- One round --------------------------------------------------------------------------------------------

    private async Task RoundAsync(IDatabase db)
    {
        RedisKey key = _connection.Prompts.Key;
        if (!_synced)
        {
            await SyncAsync(db, key).ConfigureAwait(false);
        }

        // A reveal that is due goes out before this round's I/O: entries visible before it were read on their wake-up.
        _delivery.PushDue(NowMs());

        while (true)
        {
            Task<StreamInfo?> infoTask = StreamInfoOrNullAsync(db, key);
            Task<StreamEntry[]> readTask = db.StreamReadAsync(key, _delivery.Cursor.ToString(), ReadBatch);
            StreamInfo? info = await infoTask.ConfigureAwait(false);
            StreamEntry[] entries = await readTask.ConfigureAwait(false);
            if (_delivery.CheckBookkeeping(StreamBookkeeping.From(info)))
            {
                continue; // the stream was replaced: read it again from its start
            }

            foreach (StreamEntry entry in entries)
            {
                _delivery.Accept(entry, NowMs());
            }

            if (entries.Length < ReadBatch)
            {
                break;
            }

            _delivery.PushDue(NowMs());
        }

        _delivery.PushDue(NowMs());
        await ProcessRecoveriesAsync(db, key).ConfigureAwait(false);
    }

    private static async Task<StreamInfo?> StreamInfoOrNullAsync(IDatabase db, RedisKey key)
    {
        try
        {
            return await db.StreamInfoAsync(key).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.Contains("no such key", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
    }

    /// <summary>
    /// First round: start at the stream's end (history is not replayed to sockets), but load what is still
    /// pending a reveal and the recent prompts late joiners should see, so a restart changes nothing for clients.
    /// </summary>
    private async Task SyncAsync(IDatabase db, RedisKey key)
    {
        StreamInfo? info = await StreamInfoOrNullAsync(db, key).ConfigureAwait(false);
        long now = NowMs();
        StreamEntry[] recent = [];
        if (_delivery.Start(StreamBookkeeping.From(info), now) is StreamId from)
        {
            recent = await db.StreamRangeAsync(key, minId: from.ToString(), maxId: _delivery.Cursor.ToString(), count: StreamDelivery.SyncLoadLimit, messageOrder: Order.Descending).ConfigureAwait(false);
        }

        _delivery.Load(recent, now);
        _synced = true;
    }
}
