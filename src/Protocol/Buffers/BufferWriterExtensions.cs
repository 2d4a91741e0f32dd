using System.Buffers;
using System.Buffers.Text;

namespace Gateway.Protocol.Buffers;

/// <summary>Small allocation-free append helpers shared by every writer in the protocol layer.</summary>
public static class BufferWriterExtensions
{
    public static void WriteByte(this IBufferWriter<byte> writer, byte value)
    {
        writer.GetSpan(1)[0] = value;
        writer.Advance(1);
    }

    public static void WriteBytes(this IBufferWriter<byte> writer, ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty)
        {
            return;
        }

        value.CopyTo(writer.GetSpan(value.Length));
        writer.Advance(value.Length);
    }

    /// <summary>Appends an ASCII string (sids, namespaces) without transcoding allocations.</summary>
    public static void WriteAscii(this IBufferWriter<byte> writer, ReadOnlySpan<char> value)
    {
        Span<byte> span = writer.GetSpan(value.Length);
        for (int i = 0; i < value.Length; i++)
        {
            span[i] = (byte)value[i];
        }

        writer.Advance(value.Length);
    }

    public static void WriteInt64(this IBufferWriter<byte> writer, long value)
    {
        Span<byte> span = writer.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out int written);
        writer.Advance(written);
    }
}
