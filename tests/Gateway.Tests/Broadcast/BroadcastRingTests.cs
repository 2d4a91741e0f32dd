using System.Buffers;
using Gateway.Broadcast;

namespace Gateway.Tests.Broadcast;

public class BroadcastRingTests
{
    [Fact]
    public void TryCopyTo_AfterWrap_ReadsTheLastCapacityMessagesAndRefusesOlderOnes()
    {
        var ring = new BroadcastRing(4);
        for (int i = 0; i < 10; i++)
        {
            Write(ring, [(byte)i]);
        }

        Assert.Equal(10, ring.Head);
        for (long sequence = 6; sequence < 10; sequence++)
        {
            var copy = new ArrayBufferWriter<byte>();
            Assert.Equal(RingRead.Done, ring.TryCopyTo(sequence, RingForm.WebSocket, copy));
            Assert.Equal([(byte)sequence], copy.WrittenSpan.ToArray());
        }

        // Sequence 5 lived in the slot that now holds 9.
        Assert.Equal(RingRead.Lapped, ring.TryCopyTo(5, RingForm.WebSocket, new ArrayBufferWriter<byte>()));
        Assert.Equal(RingRead.Lapped, ring.TryReadTarget(5, out _, out _));
        // Not written yet.
        Assert.Equal(RingRead.Lapped, ring.TryReadTarget(10, out _, out _));
    }

    [Fact]
    public void TryReadTarget_WrittenSlot_ReturnsNamespaceAndChannel()
    {
        var ring = new BroadcastRing(2);
        Write(ring, [1], namespaceIndex: 3, channelId: 7);

        Assert.Equal(RingRead.Done, ring.TryReadTarget(0, out int namespaceIndex, out long channelId));
        Assert.Equal((3, 7L), (namespaceIndex, channelId));
    }

    [Fact]
    public void TryCopyTo_WriterLapsTheReaderDuringTheCopy_ReturnsLapped()
    {
        var ring = new BroadcastRing(2);
        Write(ring, [0, 0, 0]);
        Write(ring, [1, 1, 1]);

        // The destination lets the writer reuse slot 0 (sequence 2, a larger message) while the reader copies 0.
        var destination = new CallbackWriter(() => Write(ring, new byte[4096]));
        Assert.Equal(RingRead.Lapped, ring.TryCopyTo(0, RingForm.WebSocket, destination));
        Assert.Equal(RingRead.Done, ring.TryCopyTo(2, RingForm.WebSocket, new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public void TryCopyTo_LengthOfALargerMessageWithTheOldArray_ReturnsLappedInsteadOfThrowing()
    {
        // What a reader sees when a lapping writer has stored the new length but the reader still holds the old,
        // smaller array: the pair cannot belong together. (Before the ring owned its reads this threw
        // ArgumentOutOfRangeException on the fan-out thread.)
        var ring = new BroadcastRing(2);
        Write(ring, [1, 2, 3]);
        Write(ring, [4, 5, 6]);
        RingSlot slot = ring.BeginWrite(out long sequence);
        slot.WebSocketLength = slot.WebSocketFrames.Length + 100;
        Volatile.Write(ref slot.Sequence, 0); // the sequence check alone would let this read through

        Assert.Equal(2, sequence); // slot 0 again
        Assert.Equal(RingRead.Lapped, ring.TryCopyTo(0, RingForm.WebSocket, new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public void TryCopyTo_PollingForm_CopiesThePollingRecords()
    {
        var ring = new BroadcastRing(2);
        RingSlot slot = ring.BeginWrite(out long sequence);
        slot.WebSocketFrames = [9, 9];
        slot.WebSocketLength = 2;
        slot.PollingRecords = "42[\"x\"]"u8.ToArray();
        slot.PollingLength = slot.PollingRecords.Length;
        ring.EndWrite(slot, sequence);

        var copy = new ArrayBufferWriter<byte>();
        Assert.Equal(RingRead.Done, ring.TryCopyTo(0, RingForm.Polling, copy));
        Assert.Equal("42[\"x\"]"u8.ToArray(), copy.WrittenSpan.ToArray());
    }

    internal static void Write(BroadcastRing ring, byte[] frames, int namespaceIndex = 0, long channelId = -1)
    {
        RingSlot slot = ring.BeginWrite(out long sequence);
        slot.NamespaceIndex = namespaceIndex;
        slot.ChannelId = channelId;
        if (slot.WebSocketFrames.Length < frames.Length)
        {
            slot.WebSocketFrames = new byte[frames.Length];
        }

        frames.CopyTo(slot.WebSocketFrames, 0);
        slot.WebSocketLength = frames.Length;
        ring.EndWrite(slot, sequence);
    }

    /// <summary>A buffer writer that runs an action the first time it hands out memory (mid-copy).</summary>
    private sealed class CallbackWriter(Action onFirstGet) : IBufferWriter<byte>
    {
        private readonly ArrayBufferWriter<byte> _inner = new();
        private Action? _onFirstGet = onFirstGet;

        public void Advance(int count) => _inner.Advance(count);

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Interlocked.Exchange(ref _onFirstGet, null)?.Invoke();
            return _inner.GetMemory(sizeHint);
        }

        public Span<byte> GetSpan(int sizeHint = 0)
        {
            Interlocked.Exchange(ref _onFirstGet, null)?.Invoke();
            return _inner.GetSpan(sizeHint);
        }
    }
}
