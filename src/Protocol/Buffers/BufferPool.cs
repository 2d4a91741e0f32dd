using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Gateway.Protocol.Buffers;

/// <summary>
/// Where the gateway rents byte arrays (<see cref="ArrayPool{T}.Shared"/>), counting the arrays and bytes on loan:
/// a buffer that is never given back shows as a count that does not return to zero once its owners are gone (the
/// pooled-buffers gauge of <c>/metrics</c> and <c>/v1/stats</c>, and the soak test's check).
/// </summary>
/// <remarks>
/// Counted in one cell per core (each on its own cache line), so renting on two cores at once never contends; a
/// read sums the cells. Arrays held for the life of a thread or of the process (scratch writers,
/// <see cref="PooledBufferWriter.Resident"/>) are not counted: their number follows the threads, not the traffic.
/// </remarks>
public static class BufferPool
{
    private static readonly Cell[] s_cells = new Cell[(int)BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(Environment.ProcessorCount, 1, 64))];
    private static readonly int s_mask = s_cells.Length - 1;

    /// <summary>Rents an array of at least <paramref name="minimumLength"/> bytes, counted until <see cref="Return"/>.</summary>
    public static byte[] Rent(int minimumLength)
    {
        byte[] array = ArrayPool<byte>.Shared.Rent(minimumLength);
        Count(1, array.Length);
        return array;
    }

    /// <summary>Gives back an array <see cref="Rent"/> handed out.</summary>
    public static void Return(byte[] array)
    {
        Count(-1, -array.Length);
        ArrayPool<byte>.Shared.Return(array);
    }

    /// <summary>Arrays rented and not returned yet (a sum racing with rents is off by those rents).</summary>
    public static long RentedArrays => Sum(static (ref Cell cell) => Volatile.Read(ref cell.Arrays));

    /// <summary>Bytes of the arrays rented and not returned yet.</summary>
    public static long RentedBytes => Sum(static (ref Cell cell) => Volatile.Read(ref cell.Bytes));

    private delegate long CellValue(ref Cell cell);

    private static long Sum(CellValue value)
    {
        long sum = 0;
        foreach (ref Cell cell in s_cells.AsSpan())
        {
            sum += value(ref cell);
        }

        return sum;
    }

    private static void Count(int arrays, int bytes)
    {
        ref Cell cell = ref s_cells[Thread.GetCurrentProcessorId() & s_mask];
        Interlocked.Add(ref cell.Arrays, arrays);
        Interlocked.Add(ref cell.Bytes, bytes);
    }

    // 128 bytes: the pair alone on its cache line, and off the adjacent-line prefetcher's pair as well. A rent on one
    // core and its return on another leave opposite counts in two cells: only the sum means anything.
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Cell
    {
        [FieldOffset(64)]
        public long Arrays;

        [FieldOffset(72)]
        public long Bytes;
    }
}
