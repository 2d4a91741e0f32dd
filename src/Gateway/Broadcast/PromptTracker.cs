using System.Diagnostics;
using System.Numerics;
using Gateway.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Gateway.Broadcast;

/// <summary>
/// Prompt lifecycle on this instance: a <see cref="PromptRecord"/> per message put into the ring, filled in by the
/// fan-out, completed when every fan-out partition has passed it, and kept (the last <see cref="Kept"/>) for
/// <c>GET /v1/prompts</c>.
/// </summary>
/// <remarks>
/// <see cref="Begin"/> runs under the broadcaster's write lock, before the ring's head moves, so the fan-out never
/// meets a sequence without its record. A partition reports a pass with the ring head it read before visiting its
/// members (<see cref="PassCompleted"/>): every member of it has then been offered everything below that head. The
/// worker whose report makes every partition pass a sequence completes that sequence's record.
/// </remarks>
internal sealed class PromptTracker
{
    /// <summary>The log category of the lifecycle lines.</summary>
    public const string LogCategory = "Gateway.Prompts";

    /// <summary>Records kept for the admin API.</summary>
    public const int Kept = 256;

    private readonly BroadcastRing _ring;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly PromptRecord?[] _records;
    private readonly int _mask;
    private readonly long[] _passedUpTo;
    private readonly Lock _completeLock = new();
    private long _completedUpTo;
    private long _newest = -1;

    public PromptTracker(BroadcastRing ring, int partitions, GatewayMetrics metrics, ILogger logger, TimeProvider? time = null)
    {
        _ring = ring;
        _metrics = metrics;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        // Any record the fan-out may still be writing (up to a ring behind) or the admin API lists must be findable.
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(ring.Capacity, Kept));
        _records = new PromptRecord?[size];
        _mask = size - 1;
        _passedUpTo = new long[partitions];
        Shared = new DeliveryTally(this, 1, shared: true);
    }

    /// <summary>For writes made off the fan-out threads (thread-safe: folds each write at once).</summary>
    public DeliveryTally Shared { get; }

    /// <summary>The ring's head (a partition reads it before a pass).</summary>
    public long RingHead => _ring.Head;

    /// <summary>A tally for one fan-out partition.</summary>
    public DeliveryTally NewPartitionTally() => new(this, _ring.Capacity, shared: false);

    /// <summary>A message is about to enter the ring at <paramref name="sequence"/> (broadcaster's write lock held).</summary>
    public void Begin(long sequence, string id, int namespaceIndex, string? channel, string eventName, in PromptOrigin origin)
    {
        long startTimestamp = Stopwatch.GetTimestamp();
        long publishedAt = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (origin.RevealAtMs is long reveal && reveal < publishedAt)
        {
            // A timed prompt's fan-out counts from its reveal instant: a late timer is part of its delay.
            startTimestamp -= (publishedAt - reveal) * Stopwatch.Frequency / 1000;
        }

        var record = new PromptRecord(
            sequence, id, origin.StreamId, _metrics.Namespaces[namespaceIndex], channel, eventName, publishedAt,
            origin.RevealAtMs, origin.StreamLagMs, startTimestamp, _metrics.SlowConsumers);
        Volatile.Write(ref _records[(int)(sequence & _mask)], record);
        Volatile.Write(ref _newest, sequence);
        // Keep only the last Kept once complete; one still in flight stays until its fan-out completes.
        Evict(sequence - Kept);
    }

    /// <summary>The record of <paramref name="sequence"/>, if still kept.</summary>
    public PromptRecord? Find(long sequence)
    {
        if (sequence < 0)
        {
            return null;
        }

        PromptRecord? record = Volatile.Read(ref _records[(int)(sequence & _mask)]);
        return record is not null && record.Sequence == sequence ? record : null;
    }

    /// <summary>Adds writes of <paramref name="sequence"/> to its record (any thread).</summary>
    public void Fold(long sequence, long recipients, long firstWrite, long lastWrite) =>
        Find(sequence)?.Fold(recipients, firstWrite, lastWrite);

    /// <summary>
    /// Partition <paramref name="partition"/> finished a pass begun at ring head <paramref name="head"/>, its tally
    /// folded. Completes the sequences every partition has now passed.
    /// </summary>
    public void PassCompleted(int partition, long head)
    {
        Volatile.Write(ref _passedUpTo[partition], head);
        if (head <= Volatile.Read(ref _completedUpTo))
        {
            return;
        }

        long passed = long.MaxValue;
        foreach (ref long upTo in _passedUpTo.AsSpan())
        {
            passed = Math.Min(passed, Volatile.Read(ref upTo));
        }

        if (passed <= Volatile.Read(ref _completedUpTo))
        {
            return;
        }

        lock (_completeLock)
        {
            for (long sequence = _completedUpTo; sequence < passed; sequence++)
            {
                if (Find(sequence) is PromptRecord record)
                {
                    Complete(record);
                }
            }

            Volatile.Write(ref _completedUpTo, Math.Max(_completedUpTo, passed));
        }
    }

    private void Complete(PromptRecord record)
    {
        record.Finish(_metrics.SlowConsumers);
        // Publish → last socket written; for a prompt nobody here was sent, publish → the fan-out's pass over it.
        double fannedOutMs = record.LastWriteMs ?? Stopwatch.GetElapsedTime(record.StartTimestamp).TotalMilliseconds;
        _metrics.PromptFannedOut(fannedOutMs / 1000);

        Log.PromptLifecycle(
            _logger, record.Id, record.StreamId, record.Namespace, record.Channel, record.Event, record.PublishedAt, record.RevealAt,
            record.Recipients, record.FirstWriteMs, record.LastWriteMs, record.SlowConsumers, record.StreamLagMs);
        if (record.Sequence <= Volatile.Read(ref _newest) - Kept)
        {
            Evict(record.Sequence);
        }
    }

    private void Evict(long sequence)
    {
        if (Find(sequence) is PromptRecord old && old.Complete)
        {
            Interlocked.CompareExchange(ref _records[(int)(sequence & _mask)], null, old);
        }
    }

    /// <summary>The newest records first, at most <paramref name="limit"/> (and <see cref="Kept"/>).</summary>
    public List<PromptRecord> Recent(int limit)
    {
        limit = Math.Clamp(limit, 0, Kept);
        var recent = new List<PromptRecord>(Math.Min(limit, 16));
        long newest = Volatile.Read(ref _newest);
        for (long sequence = newest; sequence >= 0 && sequence > newest - Kept && recent.Count < limit; sequence--)
        {
            if (Find(sequence) is PromptRecord record)
            {
                recent.Add(record);
            }
        }

        return recent;
    }
}
