using System.Buffers;

namespace Gateway.Protocol.Tests;

/// <summary>A linked segment for building multi-segment <see cref="ReadOnlySequence{T}"/> instances in tests.</summary>
internal sealed class TestSequenceSegment : ReadOnlySequenceSegment<byte>
{
    public TestSequenceSegment(ReadOnlyMemory<byte> memory)
    {
        Memory = memory;
    }

    public TestSequenceSegment Append(ReadOnlyMemory<byte> memory)
    {
        var next = new TestSequenceSegment(memory) { RunningIndex = RunningIndex + Memory.Length };
        Next = next;
        return next;
    }

    /// <summary>A sequence made of the given parts, one segment each (empty parts are kept as empty segments).</summary>
    public static ReadOnlySequence<byte> Create(params ReadOnlyMemory<byte>[] parts)
    {
        if (parts.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new TestSequenceSegment(parts[0]);
        TestSequenceSegment last = first;
        for (int i = 1; i < parts.Length; i++)
        {
            last = last.Append(parts[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Two segments: <c>data[..offset]</c> and <c>data[offset..]</c>.</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, int offset) =>
        Create(data.AsMemory(0, offset), data.AsMemory(offset));

    /// <summary>One segment per byte.</summary>
    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] data)
    {
        var parts = new ReadOnlyMemory<byte>[data.Length];
        for (int i = 0; i < data.Length; i++)
        {
            parts[i] = data.AsMemory(i, 1);
        }

        return Create(parts);
    }
}
