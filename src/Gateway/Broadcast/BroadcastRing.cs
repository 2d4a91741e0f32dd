using System.Numerics;
using System.Runtime.CompilerServices;

namespace Gateway.Broadcast;

/// <summary>
/// Fixed-capacity ring of published messages. One writer (publishes are serialized by <see cref="Broadcaster"/>),
/// any number of readers, each with its own cursor (a sequence number).
/// </summary>
/// <remarks>
/// Readers copy a slot's bytes, then check its sequence is still the one they wanted (seqlock): a reader that was
/// lapped by the writer sees a different sequence and is a slow consumer. Nothing is locked or allocated per read.
/// </remarks>
internal sealed class BroadcastRing
{
    private readonly RingSlot[] _slots;
    private readonly int _mask;
    private long _head;

    public BroadcastRing(int capacity)
    {
        capacity = (int)BitOperations.RoundUpToPowerOf2((uint)capacity);
        _slots = new RingSlot[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _slots[i] = new RingSlot();
        }

        _mask = capacity - 1;
    }

    public int Capacity => _slots.Length;

    /// <summary>The next sequence to be written: readers are up to date when their cursor equals it.</summary>
    public long Head
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _head);
    }

    /// <summary>The slot a sequence maps to. Callers verify <see cref="RingSlot.Sequence"/> before and after use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RingSlot SlotFor(long sequence) => _slots[(int)(sequence & _mask)];

    /// <summary>Writer: claims the next slot and marks it as being written.</summary>
    public RingSlot BeginWrite(out long sequence)
    {
        sequence = _head;
        RingSlot slot = _slots[(int)(sequence & _mask)];
        Volatile.Write(ref slot.Sequence, -1);
        return slot;
    }

    /// <summary>Writer: publishes the slot filled since <see cref="BeginWrite"/>.</summary>
    public void EndWrite(RingSlot slot, long sequence)
    {
        Volatile.Write(ref slot.Sequence, sequence);
        Volatile.Write(ref _head, sequence + 1);
    }
}
