using System.Buffers;

namespace Gateway.Protocol.Buffers;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over arrays rented from <see cref="ArrayPool{T}.Shared"/> through
/// <see cref="BufferPool"/> (counted while rented), or, for a <see cref="Resident"/> writer, uncounted.
/// </summary>
/// <remarks>Not thread-safe. <see cref="Reset()"/> keeps the array for reuse; <see cref="Dispose"/> returns it.</remarks>
public sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private readonly bool _resident;
    private byte[] _buffer;
    private int _written;

    public PooledBufferWriter(int initialCapacity = 256)
        : this(initialCapacity, resident: false)
    {
    }

    private PooledBufferWriter(int initialCapacity, bool resident)
    {
        _resident = resident;
        _buffer = initialCapacity == 0 ? [] : Rent(initialCapacity);
    }

    /// <summary>
    /// A writer kept for the life of a thread or of the process (a per-thread scratch, the broadcaster's encoder):
    /// its arrays are not counted in <see cref="BufferPool"/>, whose count then says what connections hold.
    /// </summary>
    public static PooledBufferWriter Resident(int initialCapacity) => new(initialCapacity, resident: true);

    public int WrittenCount => _written;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public int Capacity => _buffer.Length;

    public void Reset() => _written = 0;

    /// <summary>Drops the buffered bytes and gives the array back when it grew past <paramref name="keepAtMost"/>.</summary>
    public void Reset(int keepAtMost)
    {
        _written = 0;
        if (_buffer.Length > keepAtMost)
        {
            Return(_buffer);
            _buffer = [];
        }
    }

    public void Advance(int count)
    {
        if ((uint)count > (uint)(_buffer.Length - _written))
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        _written += bytes.Length;
    }

    public void Write(byte value)
    {
        GetSpan(1)[0] = value;
        _written++;
    }

    private void Ensure(int sizeHint)
    {
        if (sizeHint < 1)
        {
            sizeHint = 1;
        }

        if (_buffer.Length - _written >= sizeHint)
        {
            return;
        }

        Grow(sizeHint);
    }

    private void Grow(int sizeHint)
    {
        int needed = checked(_written + sizeHint);
        int size = Math.Max(needed, Math.Max(256, _buffer.Length * 2));
        byte[] next = Rent(size);
        _buffer.AsSpan(0, _written).CopyTo(next);
        if (_buffer.Length > 0)
        {
            Return(_buffer);
        }

        _buffer = next;
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            Return(_buffer);
        }

        _buffer = [];
        _written = 0;
    }

    private byte[] Rent(int size) => _resident ? ArrayPool<byte>.Shared.Rent(size) : BufferPool.Rent(size);

    private void Return(byte[] array)
    {
        if (_resident)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
        else
        {
            BufferPool.Return(array);
        }
    }
}
