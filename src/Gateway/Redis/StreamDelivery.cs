using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.Prompts;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StreamPosition = Gateway.Prompts.StreamPosition;

namespace Gateway.Redis;

/// <summary>
/// The <see cref="PromptStreamReader"/>'s decisions, without I/O: which entries go into the ring and when, what the
/// stream's bookkeeping says about gaps, and what a recovering socket missed (<c>StreamDelivery.Replay.cs</c>). The
/// reader feeds it the entries and the bookkeeping Redis returned, with the instant of each step (<c>now</c>, ms since
/// the Unix epoch, from the reader's clock).
/// </summary>
/// <remarks>
/// Entries are delivered in <see cref="StreamPosition"/> order: an entry without <c>reveal_at</c> as soon as it is
/// read; one with <c>reveal_at</c> ahead of its stream time is held until that instant, less its send-ahead (it then
/// carries its reveal instant, <see cref="RevealTag"/>); until its reveal, answers to it are refused as too early. A prompt id already
/// delivered (within <c>Gateway:Redis:DedupWindow</c>) is skipped: a publisher's retried XADD. Entries deleted past
/// the cursor (trimmed before they were read) or a stream that was replaced are a gap — counted, logged, and every
/// fan-out member is asked to close so that clients reconnect and learn (<c>recovered: false</c>) that they must resync.
/// Not thread-safe: driven by the reader's loop only, except <see cref="Position"/>, <see cref="CursorText"/> and
/// <see cref="Held"/>, which any thread may read.
/// </remarks>
internal sealed partial class StreamDelivery
{
    /// <summary>Recent entries a first round loads at most (those pending a reveal and the current prompts).</summary>
    public const int SyncLoadLimit = 10_000;

    private readonly GatewayOptions _options;
    private readonly BroadcastContext _context;
    private readonly string _stream;
    private readonly ILogger _logger;
    private readonly bool _offsets;

    // Loop state.
    private StreamId _cursor;
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
    private string _cursorText = "";
    private int _heldCount;

    /// <param name="context">Where entries are delivered (the ring), counted (the metrics) and resynced on a gap.</param>
    /// <param name="options">The gateway's options (read: Redis, Recovery and LateJoin).</param>
    /// <param name="stream">The stream's key, for the logs.</param>
    /// <param name="logger">Gaps and invalid entries are logged here.</param>
    public StreamDelivery(BroadcastContext context, GatewayOptions options, string stream, ILogger logger)
    {
        _context = context;
        _options = options;
        _stream = stream;
        _logger = logger;
        _offsets = options.Recovery.Enabled;
        AnswerWindows = new AnswerWindows(options.Redis.DedupWindow);
    }

    /// <summary>Everything up to here has been put into the ring (read before the ring's head, see JoinLocked).</summary>
    public StreamPosition Position => _position.Value;

    /// <summary>The last entry id read, as text (for <c>/v1/stats</c>).</summary>
    public string CursorText => Volatile.Read(ref _cursorText);

    /// <summary>The answer windows of the prompts taken in (each prompt id once, as many as the dedup window).</summary>
    public AnswerWindows AnswerWindows { get; }

    /// <summary>Entries waiting for their reveal.</summary>
    public int Held => Volatile.Read(ref _heldCount);

    /// <summary>The last entry id read: the next read starts after it. Loop only.</summary>
    public StreamId Cursor => _cursor;

    /// <summary>When the next held entry is due (ms since the Unix epoch); false when none is held. Loop only.</summary>
    public bool TryPeekNextReveal(out long visibleAt)
    {
        if (_held.TryPeek(out _, out StreamPosition next))
        {
            visibleAt = next.VisibleAt;
            return true;
        }

        visibleAt = 0;
        return false;
    }

    // ---- First round ------------------------------------------------------------------------------------------

    /// <summary>
    /// First round, with the stream's bookkeeping (null: no stream yet): start at the stream's end — history is not
    /// replayed to sockets. Returns the id from which the reader loads recent entries, up to <see cref="Cursor"/>, for
    /// <see cref="Load"/>; null when there is no stream to load from.
    /// </summary>
    public StreamId? Start(StreamBookkeeping? info, long now)
    {
        if (info is not StreamBookkeeping stream)
        {
            _cursor = StreamId.Zero;
            _entriesAdded = 0;
            _streamSeen = false;
            return null;
        }

        _cursor = stream.LastGenerated;
        _entriesAdded = stream.EntriesAdded;
        _maxDeleted = stream.MaxDeleted;
        _streamSeen = true;
        long lookBack = Math.Max(_options.Redis.MaxRevealAhead, _options.LateJoin.MaxAge ?? 0);
        return new StreamId(Math.Max(0, now - lookBack), 0);
    }

    /// <summary>
    /// First round, after <see cref="Start"/>: loads what is still pending a reveal and the recent prompts late joiners
    /// should see (<paramref name="newestFirst"/>, as read backwards from the cursor), so a restart changes nothing for
    /// clients. From here on <see cref="Position"/> is the stream's end at <paramref name="now"/>.
    /// </summary>
    public void Load(StreamEntry[] newestFirst, long now)
    {
        for (int i = newestFirst.Length - 1; i >= 0; i--)
        {
            StreamPrompt? decoded = Decode(newestFirst[i]);
            if (decoded is null || !Remember(decoded))
            {
                continue;
            }

            decoded.NoteReveal(_context.Reveals, now);

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

        Volatile.Write(ref _cursorText, _cursor.ToString());
        PushDue(now);
        _position = new PositionBox(new StreamPosition(now, _cursor));
    }

    // ---- Every round ------------------------------------------------------------------------------------------

    /// <summary>
    /// Checks the stream's bookkeeping (null: no stream) against what was read so far; a gap is counted, logged and
    /// resyncs every member. True when the stream was replaced and must be read again from its start (the cursor is
    /// then <see cref="StreamId.Zero"/>).
    /// </summary>
    public bool CheckBookkeeping(StreamBookkeeping? info)
    {
        if (info is not StreamBookkeeping stream)
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

        StreamId lastGenerated = stream.LastGenerated;
        _maxDeleted = stream.MaxDeleted;
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
        Log.StreamGap(_logger, _stream, what);
        _context.ResyncAll();
    }

    /// <summary>
    /// One entry read after the cursor: moves the cursor past it, and — unless invalid, not ours or a duplicate
    /// (counted) — holds it until its reveal or queues it for the next <see cref="PushDue"/>.
    /// </summary>
    public void Accept(StreamEntry raw, long now)
    {
        StreamPrompt? entry = Decode(raw);
        if (entry is not null)
        {
            _cursor = entry.StreamId > _cursor ? entry.StreamId : _cursor;
            if (!Remember(entry))
            {
                _context.Metrics.StreamDuplicate();
            }
            else
            {
                entry.NoteReveal(_context.Reveals, now);
                if (entry.Position.VisibleAt > now)
                {
                    Hold(entry);
                }
                else
                {
                    _due.Add(entry);
                }
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
        // Known from here on, held or not: an answer that comes after answer_until is closed on every gateway.
        AnswerWindows.Open(entry.Prompt.Id, entry.Prompt.AnswerUntilMs);
        _deliveredOrder.Enqueue(entry.Prompt.Id);
        while (_deliveredOrder.Count > _options.Redis.DedupWindow)
        {
            _delivered.Remove(_deliveredOrder.Dequeue());
        }

        return true;
    }

    private StreamPrompt? Decode(StreamEntry raw) => StreamPrompt.Decode(_context, _options.Redis.MaxRevealAhead, raw, _logger);

    /// <summary>Puts what is due at <paramref name="now"/> into the ring, in delivery order.</summary>
    public void PushDue(long now)
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

            entry.Deliver(_context.Broadcaster, _offsets, now);
            _context.Metrics.StreamLag(entry.StreamLagMs(now) / 1000.0);
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
