using System.Diagnostics;

namespace Gateway.Broadcast;

/// <summary>
/// One prompt's life on this instance: what it was, when it entered the ring, and how its fan-out went — recipients
/// (sockets it was written or queued to), first and last socket write, slow consumers closed meanwhile. Built by the
/// <see cref="PromptTracker"/>; one small object per prompt, never per recipient.
/// </summary>
/// <remarks>
/// Fan-out workers fold their per-pass tallies in with atomics (several at once); the worker that finds every
/// partition past the prompt completes it. Readers (the admin API) see a consistent-enough snapshot without a lock.
/// </remarks>
internal sealed class PromptRecord
{
    private long _recipients;
    private long _firstWrite = long.MaxValue;
    private long _lastWrite = long.MinValue;
    private int _slowConsumers;
    private volatile bool _complete;

    public PromptRecord(long sequence, string id, string? streamId, string ns, string? channel, string eventName, long publishedAt, long? revealAt, long? streamLagMs, long startTimestamp, long slowConsumersBefore)
    {
        Sequence = sequence;
        Id = id;
        StreamId = streamId;
        Namespace = ns;
        Channel = channel;
        Event = eventName;
        PublishedAt = publishedAt;
        RevealAt = revealAt;
        StreamLagMs = streamLagMs;
        StartTimestamp = startTimestamp;
        SlowConsumersBefore = slowConsumersBefore;
    }

    /// <summary>Ring sequence.</summary>
    public long Sequence { get; }

    public string Id { get; }

    public string? StreamId { get; }

    public string Namespace { get; }

    /// <summary>The channel, or null for the whole namespace.</summary>
    public string? Channel { get; }

    public string Event { get; }

    /// <summary>When it entered the ring, ms since the Unix epoch.</summary>
    public long PublishedAt { get; }

    /// <summary>Its timed reveal (ms since the Unix epoch), or null.</summary>
    public long? RevealAt { get; }

    public long? StreamLagMs { get; }

    /// <summary>
    /// The <see cref="Stopwatch"/> instant write times are measured from: the ring entry, or the reveal instant for a
    /// timed prompt (so a late reveal timer shows in the figures).
    /// </summary>
    public long StartTimestamp { get; }

    /// <summary>The process's slow-consumer count when it entered the ring.</summary>
    public long SlowConsumersBefore { get; }

    public long Recipients => Volatile.Read(ref _recipients);

    /// <summary>Start → first socket write, ms; null while nobody was written.</summary>
    public double? FirstWriteMs => ToMs(Volatile.Read(ref _firstWrite), long.MaxValue);

    /// <summary>Start → last socket write, ms; null while nobody was written.</summary>
    public double? LastWriteMs => ToMs(Volatile.Read(ref _lastWrite), long.MinValue);

    /// <summary>Slow consumers closed between its ring entry and its completion.</summary>
    public int SlowConsumers => Volatile.Read(ref _slowConsumers);

    /// <summary>Every fan-out partition has passed it: its figures are final (late writes to sockets whose
    /// send buffer was full may still add to them).</summary>
    public bool Complete => _complete;

    /// <summary>Adds <paramref name="recipients"/> writes made between the two instants (Stopwatch timestamps).</summary>
    public void Fold(long recipients, long firstWrite, long lastWrite)
    {
        Interlocked.Add(ref _recipients, recipients);
        long seen = Volatile.Read(ref _firstWrite);
        while (firstWrite < seen)
        {
            long previous = Interlocked.CompareExchange(ref _firstWrite, firstWrite, seen);
            if (previous == seen)
            {
                break;
            }

            seen = previous;
        }

        seen = Volatile.Read(ref _lastWrite);
        while (lastWrite > seen)
        {
            long previous = Interlocked.CompareExchange(ref _lastWrite, lastWrite, seen);
            if (previous == seen)
            {
                break;
            }

            seen = previous;
        }
    }

    /// <summary>Marks the record complete with the slow consumers closed since its start.</summary>
    public void Finish(long slowConsumersNow)
    {
        Volatile.Write(ref _slowConsumers, (int)Math.Min(int.MaxValue, Math.Max(0, slowConsumersNow - SlowConsumersBefore)));
        _complete = true;
    }

    private double? ToMs(long timestamp, long none) =>
        timestamp == none ? null : Math.Round(Math.Max(0, timestamp - StartTimestamp) * 1000.0 / Stopwatch.Frequency, 3);
}
