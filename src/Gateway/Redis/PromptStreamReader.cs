using System.Collections.Concurrent;
using System.Text.Json;
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
/// Entries are delivered in <see cref="StreamPosition"/> order: an entry without <c>reveal_at</c> as soon as it is
/// read; one with <c>reveal_at</c> ahead of its stream time is held until that instant. A prompt id already
/// delivered is skipped (a publisher's retried XADD). Each round also checks the stream's bookkeeping: entries
/// deleted past our cursor (trimmed before we read them) or a stream that was replaced are a gap — counted, logged,
/// and every socket is closed so that clients reconnect and learn (<c>recovered: false</c>) that they must resync.
/// Recovery requests are served on the same loop (<c>PromptStreamReader.Recovery.cs</c>).
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
    private readonly bool _offsets;

    // Loop state.
    private StreamId _cursor;
    private volatile bool _synced;
    private volatile bool _stopped;
    private bool _streamSeen;
    private long _entriesAdded;
    private StreamId _maxDeleted;
    private readonly PriorityQueue<StreamPrompt, StreamPosition> _held = new();
    private readonly HashSet<StreamId> _heldIds = [];
    private readonly Dictionary<string, StreamId> _delivered = new(StringComparer.Ordinal);
    private readonly Queue<string> _deliveredOrder = new();
    private readonly List<StreamPrompt> _due = [];

    // Read by other threads.
    private volatile PositionBox _position = new(StreamPosition.Start);
    private volatile string? _notReady = "redis: connecting";
    private volatile bool _failing; // the last round failed (an outage, not the start)
    private string _cursorText = "";

    public PromptStreamReader(BroadcastContext context, RegionConnection connection, RegionLiveness liveness, PidSigner signer, SessionStore sessions)
    {
        _options = connection.Options;
        _context = context;
        _connection = connection;
        _liveness = liveness;
        _signer = signer;
        _sessions = sessions;
        _logger = connection.Logger;
        _offsets = _options.Recovery.Enabled;
    }

    /// <summary>Null when the last round succeeded.</summary>
    public string? NotReadyReason => _notReady;

    /// <summary>Everything up to here has been put into the ring (read before the ring's head, see JoinLocked).</summary>
    public StreamPosition Position => _position.Value;

    public string Cursor => Volatile.Read(ref _cursorText);

    public int Held => Volatile.Read(ref _heldCount);

    private int _heldCount;

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
                    Log.StreamResumed(_logger, _connection.Prompts.Key!, _cursor.ToString());
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
        if (_held.TryPeek(out _, out StreamPosition next))
        {
            timeout = (int)Math.Clamp(next.VisibleAt - NowMs(), 0, timeout);
        }

        await _wake.WaitAsync(timeout, stopping).ConfigureAwait(false);
    }

    private static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    // ---- One round --------------------------------------------------------------------------------------------

    private async Task RoundAsync(IDatabase db)
    {
        RedisKey key = _connection.Prompts.Key;
        if (!_synced)
        {
            await SyncAsync(db, key).ConfigureAwait(false);
        }

        // A reveal that is due goes out before this round's I/O: entries visible before it were read on their wake-up.
        PushDue(NowMs());

        while (true)
        {
            Task<StreamInfo?> infoTask = StreamInfoOrNullAsync(db, key);
            Task<StreamEntry[]> readTask = db.StreamReadAsync(key, _cursor.ToString(), ReadBatch);
            StreamInfo? info = await infoTask.ConfigureAwait(false);
            StreamEntry[] entries = await readTask.ConfigureAwait(false);
            if (CheckBookkeeping(info))
            {
                continue; // the stream was replaced: read it again from its start
            }

            foreach (StreamEntry entry in entries)
            {
                Accept(entry, NowMs(), _due);
            }

            if (entries.Length < ReadBatch)
            {
                break;
            }

            PushDue(NowMs());
        }

        PushDue(NowMs());
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
        if (info is null)
        {
            _cursor = StreamId.Zero;
            _entriesAdded = 0;
            _streamSeen = false;
        }
        else
        {
            StreamInfo stream = info.Value;
            _cursor = StreamId.Parse(stream.LastGeneratedId!);
            _entriesAdded = stream.EntriesAdded;
            _maxDeleted = ParseOrZero(stream.MaxDeletedEntryId);
            _streamSeen = true;
            long lookBack = Math.Max(_options.Redis.MaxRevealAhead, _options.LateJoin.MaxAge ?? 0);
            StreamEntry[] recent = await db.StreamRangeAsync(key, minId: new StreamId(Math.Max(0, now - lookBack), 0).ToString(), maxId: _cursor.ToString(), count: 10_000, messageOrder: Order.Descending).ConfigureAwait(false);
            Array.Reverse(recent);
            foreach (StreamEntry entry in recent)
            {
                StreamPrompt? decoded = Decode(entry);
                if (decoded is null || !Remember(decoded))
                {
                    continue;
                }

                if (decoded.Position.VisibleAt > now)
                {
                    Hold(decoded);
                }
                else if (_options.LateJoin.MaxAge > 0 && now - decoded.Position.VisibleAt <= _options.LateJoin.MaxAge.Value)
                {
                    // Nobody is connected yet: this only makes it the current prompt of its channel.
                    _due.Add(decoded);
                }
            }
        }

        Volatile.Write(ref _cursorText, _cursor.ToString());
        PushDue(now);
        _position = new PositionBox(new StreamPosition(now, _cursor));
        _synced = true;
    }

    /// <summary>True when the stream was replaced and must be read again from its start.</summary>
    private bool CheckBookkeeping(StreamInfo? info)
    {
        if (info is null)
        {
            if (_streamSeen && _entriesAdded > 0)
            {
                Gap("the stream was deleted");
                _streamSeen = false;
                _entriesAdded = 0;
                _cursor = StreamId.Zero;
            }

            return false;
        }

        StreamInfo stream = info.Value;
        StreamId lastGenerated = ParseOrZero(stream.LastGeneratedId);
        _maxDeleted = ParseOrZero(stream.MaxDeletedEntryId);
        if (stream.EntriesAdded < _entriesAdded || lastGenerated < _cursor)
        {
            Gap($"the stream was replaced (entries added {stream.EntriesAdded} < {_entriesAdded}, or last id {lastGenerated} < cursor {_cursor})");
            _entriesAdded = stream.EntriesAdded;
            _cursor = StreamId.Zero;
            _streamSeen = true;
            return true;
        }

        _streamSeen = true;
        _entriesAdded = stream.EntriesAdded;
        if (_maxDeleted > _cursor)
        {
            Gap($"entries up to {_maxDeleted} were deleted before this gateway read past {_cursor}");
        }

        return false;
    }

    private void Gap(string what)
    {
        _context.Metrics.StreamGap();
        Log.StreamGap(_logger, _connection.Prompts.Key!, what);
        _context.ResyncAll();
    }

    private static StreamId ParseOrZero(RedisValue value) =>
        !value.IsNullOrEmpty && StreamId.TryParse(value.ToString(), out StreamId id) ? id : StreamId.Zero;

    private void Accept(StreamEntry raw, long now, List<StreamPrompt> due)
    {
        StreamPrompt? entry = Decode(raw);
        if (entry is not null)
        {
            _cursor = entry.StreamId > _cursor ? entry.StreamId : _cursor;
            if (!Remember(entry))
            {
                _context.Metrics.StreamDuplicate();
            }
            else if (entry.Position.VisibleAt > now)
            {
                Hold(entry);
            }
            else
            {
                due.Add(entry);
            }
        }
        else if (StreamId.TryParse(raw.Id.ToString(), out StreamId id) && id > _cursor)
        {
            _cursor = id;
        }

        Volatile.Write(ref _cursorText, _cursor.ToString());
    }

    private void Hold(StreamPrompt entry)
    {
        _held.Enqueue(entry, entry.Position);
        _heldIds.Add(entry.StreamId);
        Volatile.Write(ref _heldCount, _held.Count);
    }

    /// <summary>Records a prompt id as delivered; false when it already was (a duplicate entry).</summary>
    private bool Remember(StreamPrompt entry)
    {
        if (_delivered.ContainsKey(entry.Prompt.Id))
        {
            return false;
        }

        _delivered[entry.Prompt.Id] = entry.StreamId;
        _deliveredOrder.Enqueue(entry.Prompt.Id);
        while (_deliveredOrder.Count > _options.Redis.DedupWindow)
        {
            _delivered.Remove(_deliveredOrder.Dequeue());
        }

        return true;
    }

    private StreamPrompt? Decode(StreamEntry raw) => StreamPrompt.Decode(_context, _options.Redis.MaxRevealAhead, raw, _logger);

    /// <summary>Puts what is due into the ring, in delivery order.</summary>
    private void PushDue(long now)
    {
        while (_held.TryPeek(out StreamPrompt? held, out StreamPosition position) && position.VisibleAt <= now)
        {
            _held.Dequeue();
            _heldIds.Remove(held.StreamId);
            _due.Add(held);
        }

        Volatile.Write(ref _heldCount, _held.Count);
        if (_due.Count == 0)
        {
            return;
        }

        _due.Sort(static (a, b) => a.Position.CompareTo(b.Position));
        StreamPosition last = _position.Value;
        foreach (StreamPrompt entry in _due)
        {
            if (entry.Position < last)
            {
                // Readable only after a later one went out (clock skew between Redis and a reveal): delivered now.
                _context.Metrics.StreamLateEntry();
            }

            entry.Deliver(_context.Broadcaster, _offsets);
            _context.Metrics.StreamEntry();
            if (entry.Position > last)
            {
                last = entry.Position;
                // After the ring's head moved: a joiner reading this position then the head misses nothing.
                _position = new PositionBox(last);
            }
        }

        _due.Clear();
    }

    private sealed record PositionBox(StreamPosition Value);
}
