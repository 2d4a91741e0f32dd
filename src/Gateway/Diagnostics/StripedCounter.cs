using System.Numerics;
using System.Runtime.InteropServices;

namespace Gateway.Diagnostics;

/// <summary>
/// A counter added to from many threads at once on hot paths (bytes sent per flush, received per read): one cell per
/// core, each on its own cache line, so two cores adding never contend for one line. Read by summing the cells.
/// </summary>
public sealed class StripedCounter
{
    private readonly Cell[] _cells;
    private readonly int _mask;

    public StripedCounter()
    {
        int cells = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(Environment.ProcessorCount, 1, 64));
        _cells = new Cell[cells];
        _mask = cells - 1;
    }

    /// <summary>Adds <paramref name="value"/> in the calling core's cell.</summary>
    public void Add(long value) => Interlocked.Add(ref _cells[Thread.GetCurrentProcessorId() & _mask].Value, value);

    /// <summary>The total so far (cells read one after the other: a sum racing with adds is off by those adds).</summary>
    public long Sum()
    {
        long sum = 0;
        for (int i = 0; i < _cells.Length; i++)
        {
            sum += Volatile.Read(ref _cells[i].Value);
        }

        return sum;
    }

    // 128 bytes: the value alone on its cache line, and off the adjacent-line prefetcher's pair as well.
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Cell
    {
        [FieldOffset(64)]
        public long Value;
    }
}
