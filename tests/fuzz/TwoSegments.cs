using System.Buffers;

namespace Gateway.Fuzz;

/// <summary>
/// The input as a sequence of two segments cut at a given offset: the targets check that a codec's multi-segment path
/// reads exactly what its single-span path reads.
/// </summary>
internal sealed class TwoSegments : ReadOnlySequenceSegment<byte>
{
    private TwoSegments(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Cut(byte[] data, int offset)
    {
        var first = new TwoSegments(data.AsMemory(0, offset), 0);
        var second = new TwoSegments(data.AsMemory(offset), offset);
        first.Next = second;
        return new ReadOnlySequence<byte>(first, 0, second, data.Length - offset);
    }
}
