using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Gateway.Broadcast;

/// <summary>
/// Counts the socket writes of ring sequences for the <see cref="PromptTracker"/> without touching shared memory per
/// recipient: a fan-out partition's tally keeps, per sequence it wrote this pass, a count and the first and last
/// write instant, and folds them into the prompts' records once at the end of the pass. The tracker's shared tally
/// (writes made off the fan-out threads: a socket catching up when its send buffer drains, an upgrade) folds each
/// write at once.
/// </summary>
/// <remarks>
/// A partition's tally is used by its worker only (under the partition's lock). Indexed by sequence modulo the ring's
/// capacity: a pass writes fewer sequences than the ring holds, or the sockets behind were lapped; a collision folds
/// the older sequence first.
/// </remarks>
internal sealed class DeliveryTally
{
    private readonly PromptTracker _tracker;
    private readonly bool _shared;
    private readonly long[] _sequences;
    private readonly int[] _counts;
    private readonly long[] _first;
    private readonly long[] _last;
    private readonly int _mask;
    private long _low = long.MaxValue;
    private long _high = long.MinValue;

    internal DeliveryTally(PromptTracker tracker, int capacity, bool shared)
    {
        _tracker = tracker;
        _shared = shared;
        capacity = shared ? 1 : capacity;
        _sequences = new long[capacity];
        _counts = new int[capacity];
        _first = new long[capacity];
        _last = new long[capacity];
        _mask = capacity - 1;
    }

    /// <summary>
    /// The message at <paramref name="sequence"/> was written (or queued) to one more socket at <paramref name="now"/>
    /// (a <see cref="Stopwatch"/> timestamp: the caller reads the clock once for all it writes to a socket at once).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Delivered(long sequence, long now)
    {
        if (_shared)
        {
            _tracker.Fold(sequence, 1, now, now);
            return;
        }

        int i = (int)(sequence & _mask);
        if (_counts[i] == 0 || _sequences[i] != sequence)
        {
            Start(i, sequence, now);
        }

        _counts[i]++;
        _last[i] = now;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Start(int i, long sequence, long now)
    {
        if (_counts[i] != 0)
        {
            FoldSlot(i); // another sequence on the same index this pass (the pass outran a whole ring)
        }

        _sequences[i] = sequence;
        _first[i] = now;
        _low = Math.Min(_low, sequence);
        _high = Math.Max(_high, sequence);
    }

    /// <summary>End of a pass: hands every count to the tracker and starts empty.</summary>
    public void FoldAll()
    {
        if (_high < _low)
        {
            return;
        }

        // Sequences written this pass span less than the ring (see remarks); clamp in case of a collision.
        long low = Math.Max(_low, _high - _mask);
        for (long sequence = low; sequence <= _high; sequence++)
        {
            int i = (int)(sequence & _mask);
            if (_counts[i] != 0)
            {
                FoldSlot(i);
            }
        }

        _low = long.MaxValue;
        _high = long.MinValue;
    }

    private void FoldSlot(int i)
    {
        _tracker.Fold(_sequences[i], _counts[i], _first[i], _last[i]);
        _counts[i] = 0;
    }
}
