using System.Buffers;

namespace Gateway.Benchmarks.Fakes;

/// <summary>Builds a two-segment <see cref="ReadOnlySequence{T}"/>, as a read that straddles two socket buffers.</summary>
public static class SplitSequence
{
    public static ReadOnlySequence<byte> Create(byte[] data, int splitAt)
    {
        var first = new Segment(data.AsMemory(0, splitAt), 0);
        var second = new Segment(data.AsMemory(splitAt), splitAt);
        first.SetNext(second);
        return new ReadOnlySequence<byte>(first, 0, second, second.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
