using System.Collections.Concurrent;
using System.Text.Json;
using Gateway.Broadcast;
using Gateway.Diagnostics;
using Gateway.EngineIO;
using Gateway.Streams;
using Gateway.Prompts;
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
/// </remarks>
internal sealed class PromptStreamReader
{
    private const int ReadBatch = 1000;
    private const int RecoveryAttempts = 5;

    private readonly GatewayRuntime _runtime;
    private readonly Region _region;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly ConcurrentQueue<RecoveryRequest> _recoveries = new();
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

    public PromptStreamReader(GatewayRuntime runtime, Region region)
    {
        _runtime = runtime;
        _region = region;
        _offsets = runtime.Options.Recovery.Enabled;
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
    public bool TryRequestRecovery(RecoveryRequest request)
    {
        // Still starting (a restarted gateway that clients rush back to, the first round may take a while): they wait
        // for it. In an outage: they connect fresh at once.
        if (_stopped || _failing || _region.Connection is { IsConnected: false })
        {
            return false;
        }

        _recoveries.Enqueue(request);
        Wake();
        return true;
    }

    public async Task RunAsync(Task<ConnectionMultiplexer> connecting)
    {
        CancellationToken stopping = _region.Stopping;
        ConnectionMultiplexer redis;
        try
        {
            redis = await connecting.WaitAsync(stopping).ConfigureAwait(false);
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
            Log.RedisLoopFailed(_region.Logger, "connect", e);
            _stopped = true;
            FailPendingRecoveries();
            return;
        }

        IDatabase db = redis.GetDatabase();
        int backoffMs = 100;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await RoundAsync(db).ConfigureAwait(false);
                if (_notReady is not null)
                {
                    Log.StreamResumed(_region.Logger, _region.Prompts.Key!, _cursor.ToString());
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
                    Log.RedisUnavailable(_region.Logger, e.Message, null);
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
                Log.RedisLoopFailed(_region.Logger, "prompt stream", e);
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

        int timeout = _runtime.Options.Redis.PollInterval;
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
        RedisKey key = _region.Prompts.Key;
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
            long lookBack = Math.Max(_runtime.Options.Redis.MaxRevealAhead, _runtime.Options.LateJoin.MaxAge ?? 0);
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
                else if (_runtime.Options.LateJoin.MaxAge > 0 && now - decoded.Position.VisibleAt <= _runtime.Options.LateJoin.MaxAge.Value)
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
        _runtime.Metrics.StreamGap();
        Log.StreamGap(_region.Logger, _region.Prompts.Key!, what);
        _runtime.CloseAll("prompt stream gap");
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
                _runtime.Metrics.StreamDuplicate();
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
        while (_deliveredOrder.Count > _runtime.Options.Redis.DedupWindow)
        {
            _delivered.Remove(_deliveredOrder.Dequeue());
        }

        return true;
    }

    private StreamPrompt? Decode(StreamEntry raw) => StreamPrompt.Decode(_runtime, raw, _region.Logger);

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
                _runtime.Metrics.StreamLateEntry();
            }

            entry.Deliver(_runtime.Broadcaster, _offsets);
            _runtime.Metrics.StreamEntry();
            if (entry.Position > last)
            {
                last = entry.Position;
                // After the ring's head moved: a joiner reading this position then the head misses nothing.
                _position = new PositionBox(last);
            }
        }

        _due.Clear();
    }

    // ---- Recovery ---------------------------------------------------------------------------------------------

    private void FailPendingRecoveries()
    {
        while (_recoveries.TryDequeue(out RecoveryRequest? request))
        {
            _runtime.Metrics.Recovery(false);
            request.Session.CompleteConnect(request, null);
        }
    }

    private async Task ProcessRecoveriesAsync(IDatabase db, RedisKey key)
    {
        if (_recoveries.IsEmpty)
        {
            return;
        }

        var batch = new List<RecoveryRequest>();
        while (batch.Count < 5000 && _recoveries.TryDequeue(out RecoveryRequest? request))
        {
            batch.Add(request);
        }

        // The session records, taken (GETDEL: a pid recovers once), pipelined.
        var records = new Task<RedisValue>[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            records[i] = batch[i].Record is null ? db.StringGetDeleteAsync(_region.SessionPrefix + batch[i].Pid) : Task.FromResult(RedisValue.Null);
        }

        await Task.WhenAll(records).ConfigureAwait(false);
        for (int i = 0; i < batch.Count; i++)
        {
            batch[i].Record ??= SessionRecord.TryParse(records[i].Result);
        }

        await RecoverFromSignedPidsAsync(db, batch).ConfigureAwait(false);
        var scans = new Dictionary<StreamId, Task<StreamEntry[]>>();
        long horizon = _runtime.Options.Redis.MaxRevealAhead;
        int maxReplay = _runtime.Options.Recovery.MaxReplay;
        for (int i = 0; i < batch.Count; i++)
        {
            RecoveryRequest request = batch[i];
            if (request.Record is not null)
            {
                long from = request.Offset is StreamId offset ? offset.Ms : request.Record.V;
                var scanFrom = new StreamId(Math.Max(0, from - horizon), 0);
                if (!scans.ContainsKey(scanFrom))
                {
                    // Held entries written before the start may be revealed after it: look back by the reveal horizon.
                    scans[scanFrom] = db.StreamRangeAsync(key, minId: scanFrom.ToString(), maxId: _cursor.ToString(), count: maxReplay + 10_000);
                }
            }
        }

        await Task.WhenAll(scans.Values).ConfigureAwait(false);
        var decoded = new Dictionary<StreamId, StreamPrompt?>();
        var encoded = new Dictionary<(StreamId, int), PromptFrames>();
        foreach (RecoveryRequest request in batch)
        {
            if (request.WaitingForInstance)
            {
                request.WaitingForInstance = false;
                _recoveries.Enqueue(request);
                continue;
            }

            RecoveredState? state = null;
            bool retry = false;
            if (request.Record is { } record && record.Ns == _runtime.NamespaceNames[request.NamespaceIndex])
            {
                long from = request.Offset is StreamId offset ? offset.Ms : record.V;
                StreamEntry[] scan = scans[new StreamId(Math.Max(0, from - horizon), 0)].Result;
                state = Replay(request, record, scan, maxReplay + 10_000, decoded, encoded, out retry);
            }

            if (retry && ++request.Attempts < RecoveryAttempts)
            {
                _recoveries.Enqueue(request);
                continue;
            }

            _runtime.Metrics.Recovery(state is not null);
            request.Session.CompleteConnect(request, state);
        }
    }

    /// <summary>
    /// No session record: the socket's gateway died without writing one (a crash). A pid it signed and that gateway's
    /// last heartbeat within MaxDisconnection are enough: the socket resumes from its offset (or, having had no prompt
    /// yet, from where it joined, which the pid carries) with the channels of its auth payload plus those it joined
    /// by event (kept in Redis by pid, see <see cref="Region.SaveChannels"/>). Each pid is claimed once.
    /// </summary>
    private async Task RecoverFromSignedPidsAsync(IDatabase db, List<RecoveryRequest> batch)
    {
        var lastSeen = new Task<long>?[batch.Count];
        var eventChannels = new Task<RedisValue>?[batch.Count];
        var signed = new SignedPid[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            RecoveryRequest request = batch[i];
            if (request.Record is null && _region.TryReadPid(request.Pid, _runtime.NamespaceNames[request.NamespaceIndex], out signed[i]))
            {
                lastSeen[i] = _region.InstanceLastSeenAsync(db, signed[i].Instance);
                eventChannels[i] = db.StringGetAsync(_region.ChannelsKey(request.Pid));
            }
        }

        if (Array.TrueForAll(lastSeen, t => t is null))
        {
            return;
        }

        long now = NowMs();
        var claims = new Task<bool>?[batch.Count];
        var channels = new string[]?[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            if (lastSeen[i] is not { } seen)
            {
                continue;
            }

            long at = await seen.ConfigureAwait(false);
            RedisValue saved = await eventChannels[i]!.ConfigureAwait(false);
            // No saved channels: none joined by event — unless the pid is older than they are kept (then unknown).
            channels[i] = saved.IsNull
                ? now - signed[i].IssuedAtMs < Region.ChannelsLifetime.TotalMilliseconds - 60_000 ? [] : null
                : ParseChannels(saved);
            if (channels[i] is null)
            {
                continue;
            }

            if (at > 0 && now - at <= _runtime.Options.Recovery.MaxDisconnection)
            {
                claims[i] = _region.ClaimPidAsync(db, batch[i].Pid);
            }
            else if (at < 0 && now - batch[i].RequestedAt < 6 * Region.HeartbeatMs)
            {
                // Its gateway still beats: a crash a moment ago looks like this until the heartbeats stop.
                batch[i].WaitingForInstance = true;
            }
        }

        for (int i = 0; i < batch.Count; i++)
        {
            if (claims[i] is { } claim && await claim.ConfigureAwait(false))
            {
                StreamPosition joined = signed[i].Joined;
                batch[i].Record = new SessionRecord(signed[i].Sid, _runtime.NamespaceNames[batch[i].NamespaceIndex], joined.VisibleAt, joined.Id.ToString(), channels[i]!);
            }
        }
    }

    private static string[]? ParseChannels(RedisValue json)
    {
        try
        {
            string[]? channels = JsonSerializer.Deserialize<string[]>((string)json!);
            return channels is not null && Array.TrueForAll(channels, c => c is not null) ? channels : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>What the recovering socket missed, or null when that cannot be known exactly (recovered: false).</summary>
    private RecoveredState? Replay(RecoveryRequest request, SessionRecord record, StreamEntry[] scan, int scanLimit,
        Dictionary<StreamId, StreamPrompt?> decoded, Dictionary<(StreamId, int), PromptFrames> encoded, out bool retry)
    {
        retry = false;
        if (scan.Length >= scanLimit)
        {
            return null; // more history than a replay may hold
        }

        if (request.OffsetText is not null && request.Offset is null)
        {
            return null; // not an offset this region issued
        }

        StreamPosition start;
        if (request.Offset is StreamId offset)
        {
            if (offset > _cursor)
            {
                retry = true; // another gateway delivered it already; this one reads it next round
                return null;
            }

            StreamPrompt? known = null;
            foreach (StreamEntry raw in scan)
            {
                if (raw.Id.ToString() == request.OffsetText)
                {
                    known = DecodeCached(raw, decoded);
                    break;
                }
            }

            if (known is null)
            {
                return null; // trimmed away (or never ours): the gap cannot be filled
            }

            start = known.Position;
        }
        else
        {
            start = record.Position;
            if (_maxDeleted > start.Id)
            {
                return null;
            }
        }

        var channels = new HashSet<string>(record.Ch, StringComparer.Ordinal);
        if (request.AuthChannels is not null)
        {
            channels.UnionWith(request.AuthChannels);
        }

        var missed = new List<StreamPrompt>();
        var seenInScan = new HashSet<string>(StringComparer.Ordinal);
        foreach (StreamEntry raw in scan)
        {
            StreamPrompt? entry = DecodeCached(raw, decoded);
            if (entry is null)
            {
                continue;
            }

            bool first = _delivered.TryGetValue(entry.Prompt.Id, out StreamId firstId) ? firstId == entry.StreamId : !seenInScan.Contains(entry.Prompt.Id);
            seenInScan.Add(entry.Prompt.Id);
            if (!first || entry.Position <= start || _heldIds.Contains(entry.StreamId) || entry.NamespaceIndex != request.NamespaceIndex)
            {
                continue;
            }

            if (entry.Prompt.Channel is string channel && !channels.Contains(channel))
            {
                continue;
            }

            missed.Add(entry);
        }

        if (missed.Count > _runtime.Options.Recovery.MaxReplay)
        {
            return null;
        }

        missed.Sort(static (a, b) => a.Position.CompareTo(b.Position));
        var frames = new List<PromptFrames>(missed.Count);
        foreach (StreamPrompt entry in missed)
        {
            if (!encoded.TryGetValue((entry.StreamId, entry.NamespaceIndex), out PromptFrames? frame))
            {
                using JsonDocument data = JsonDocument.Parse(entry.Prompt.Data);
                frame = _runtime.Broadcaster.Encode(entry.NamespaceIndex, entry.Prompt.Event, data.RootElement, _offsets ? entry.RawId : null);
                encoded[(entry.StreamId, entry.NamespaceIndex)] = frame;
            }

            frames.Add(frame);
        }

        return new RecoveredState(record.Sid, request.Pid, channels.ToList(), frames);
    }

    private StreamPrompt? DecodeCached(StreamEntry raw, Dictionary<StreamId, StreamPrompt?> decoded)
    {
        if (!StreamId.TryParse(raw.Id.ToString(), out StreamId id))
        {
            return null;
        }

        if (!decoded.TryGetValue(id, out StreamPrompt? entry))
        {
            entry = Decode(raw);
            decoded[id] = entry;
        }

        return entry;
    }

    private sealed record PositionBox(StreamPosition Value);
}

/// <summary>A CONNECT that asked to recover a session (its auth carried a pid), waiting for the reader.</summary>
internal sealed class RecoveryRequest(EngineSession session, int namespaceIndex, string pid, string? offset, byte[]? auth, List<string>? authChannels)
{
    public EngineSession Session { get; } = session;

    public int NamespaceIndex { get; } = namespaceIndex;

    public string Pid { get; } = pid;

    public string? OffsetText { get; } = offset;

    public StreamId? Offset { get; } = offset is not null && StreamId.TryParse(offset, out StreamId id) ? id : null;

    public byte[]? Auth { get; } = auth;

    public List<string>? AuthChannels { get; } = authChannels;

    /// <summary>Taken from Redis on the first attempt (GETDEL), kept for the retries.</summary>
    public SessionRecord? Record { get; set; }

    public int Attempts { get; set; }

    public long RequestedAt { get; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>The pid's gateway looked alive: asked again on a later round.</summary>
    public bool WaitingForInstance { get; set; }
}

/// <summary>A recovered socket: its old id, its channels and the prompts it missed, encoded, in order.</summary>
internal sealed record RecoveredState(string Sid, string Pid, List<string> Channels, List<PromptFrames> Missed);

/// <summary>A prompt stream entry decoded for this gateway: where it stands in delivery order and its target.</summary>
internal sealed record StreamPrompt(StreamId StreamId, string RawId, StreamPosition Position, PromptEntry Prompt, int NamespaceIndex)
{
    /// <summary>A stream entry as a prompt this gateway serves, or null (invalid: counted and logged; or not ours).</summary>
    public static StreamPrompt? Decode(GatewayRuntime runtime, StreamEntry raw, Microsoft.Extensions.Logging.ILogger logger)
    {
        string rawId = raw.Id.ToString();
        if (!StreamId.TryParse(rawId, out StreamId id))
        {
            return null;
        }

        string? error = PromptEntry.TryRead(raw, out PromptEntry? prompt);
        if (error is null && prompt!.RevealAtMs is long reveal && reveal - id.Ms > runtime.Options.Redis.MaxRevealAhead)
        {
            error = $"reveal_at is more than Gateway:Redis:MaxRevealAhead ({runtime.Options.Redis.MaxRevealAhead} ms) after the entry";
        }

        if (error is not null)
        {
            runtime.Metrics.StreamInvalidEntry();
            Log.InvalidEntry(logger, rawId, error);
            return null;
        }

        int namespaceIndex = runtime.FindNamespace(prompt!.Namespace);
        if (namespaceIndex < 0)
        {
            return null; // a namespace this gateway does not serve
        }

        return new StreamPrompt(id, rawId, StreamPosition.Of(id, prompt.RevealAtMs), prompt, namespaceIndex);
    }

    /// <summary>Into the ring: encoded once, with the stream id as the recovery offset when offered.</summary>
    public void Deliver(Broadcaster broadcaster, bool withOffset)
    {
        using JsonDocument data = JsonDocument.Parse(Prompt.Data);
        broadcaster.Publish(NamespaceIndex, Prompt.Channel, Prompt.Event, data.RootElement, Prompt.Id, withOffset ? RawId : null);
    }
}
