using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Gateway.Broadcast;

/// <summary>
/// Fixed-capacity ring of published messages. One writer (publishes are serialized by <see cref="Broadcaster"/>),
/// any number of readers, each with its own cursor (a sequence number).
/// </summary>
/// <remarks>
/// The ring owns its read protocol (a seqlock): a reader gets a slot's target through <see cref="TryReadTarget"/> and
/// its bytes through <see cref="TryCopyTo"/>, and each validates that the slot still holds the sequence asked for after
/// reading. A reader that was lapped by the writer — before or during a read — gets <see cref="RingRead.Lapped"/> and
/// is a slow consumer; it never sees a torn slot as data or an exception. Nothing is locked or allocated per read.
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

    /// <summary>
    /// Reader: the namespace and channel of the message at <paramref name="sequence"/>. <see cref="RingRead.Lapped"/>
    /// when the slot no longer (or not yet) holds that sequence.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RingRead TryReadTarget(long sequence, out int namespaceIndex, out long channelId)
    {
        RingSlot slot = _slots[(int)(sequence & _mask)];
        if (Volatile.Read(ref slot.Sequence) != sequence)
        {
            namespaceIndex = -1;
            channelId = ChannelRegistry.NoMembers;
            return RingRead.Lapped;
        }

        namespaceIndex = slot.NamespaceIndex;
        channelId = slot.ChannelId;
        // The fields' reads complete before the sequence is read again (a compiler barrier on x64, dmb ishld on
        // arm64: no full fence per slot per session).
        Volatile.ReadBarrier();
        return Volatile.Read(ref slot.Sequence) == sequence ? RingRead.Done : RingRead.Lapped;
    }

    /// <summary>
    /// Reader: appends the message at <paramref name="sequence"/> in one wire form to <paramref name="destination"/>.
    /// On <see cref="RingRead.Lapped"/> whatever was appended is garbage and the reader must be dropped.
    /// </summary>
    public RingRead TryCopyTo<TWriter>(long sequence, RingForm form, TWriter destination)
        where TWriter : IBufferWriter<byte>
    {
        RingSlot slot = _slots[(int)(sequence & _mask)];
        if (Volatile.Read(ref slot.Sequence) != sequence)
        {
            return RingRead.Lapped;
        }

        // The array and its length are separate fields that a lapping writer changes one after the other (and may
        // replace the array by a larger one): read each once, and refuse a pair that cannot belong together.
        byte[] bytes;
        int length;
        if (form == RingForm.WebSocket)
        {
            bytes = slot.WebSocketFrames;
            length = slot.WebSocketLength;
        }
        else
        {
            bytes = slot.PollingRecords;
            length = slot.PollingLength;
        }

        if ((uint)length > (uint)bytes.Length)
        {
            return RingRead.Lapped;
        }

        destination.Write(new ReadOnlySpan<byte>(bytes, 0, length));
        Volatile.ReadBarrier();
        return Volatile.Read(ref slot.Sequence) == sequence ? RingRead.Done : RingRead.Lapped;
    }

    /// <summary>Writer: claims the next slot and marks it as being written.</summary>
    public RingSlot BeginWrite(out long sequence)
    {
        sequence = _head;
        RingSlot slot = _slots[(int)(sequence & _mask)];
        Volatile.Write(ref slot.Sequence, -1);
        // Readers must see the slot as being written before they can see any of its new fields.
        Volatile.WriteBarrier();
        return slot;
    }

    /// <summary>Writer: publishes the slot filled since <see cref="BeginWrite"/>.</summary>
    public void EndWrite(RingSlot slot, long sequence)
    {
        Volatile.Write(ref slot.Sequence, sequence);
        Volatile.Write(ref _head, sequence + 1);
    }
}

/// <summary>Outcome of a read from the <see cref="BroadcastRing"/>.</summary>
internal enum RingRead
{
    Done,

    /// <summary>The writer reused the slot before or during the read: the reader fell a whole ring behind.</summary>
    Lapped,
}

/// <summary>The two pre-encoded wire forms a ring slot holds.</summary>
internal enum RingForm
{
    /// <summary>Complete server WebSocket frames.</summary>
    WebSocket,

    /// <summary>Engine.IO polling records (without a leading separator).</summary>
    Polling,
}
