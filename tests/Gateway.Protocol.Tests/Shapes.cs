using System.Buffers;

namespace Gateway.Protocol.Tests;

/// <summary>The shapes every valid codec input is run in.</summary>
internal static class Shapes
{
    /// <summary>Filler placed around an input inside a larger array, so that reading past the slice shows.</summary>
    public const byte Filler = 0xEE;

    /// <summary>
    /// <paramref name="data"/> copied into the middle of a larger array filled with <see cref="Filler"/>, returned as
    /// the exact slice.
    /// </summary>
    public static ArraySegment<byte> InsideLargerArray(byte[] data, int before = 7, int after = 9)
    {
        byte[] larger = new byte[before + data.Length + after];
        larger.AsSpan().Fill(Filler);
        data.CopyTo(larger, before);
        return new ArraySegment<byte>(larger, before, data.Length);
    }

    /// <summary>
    /// Every sequence shape of <paramref name="data"/>: whole (one segment), inside a larger array, split in two at
    /// each offset, and one byte per segment.
    /// </summary>
    public static IEnumerable<(string Shape, ReadOnlySequence<byte> Sequence)> Sequences(byte[] data)
    {
        yield return ("whole", new ReadOnlySequence<byte>(data));
        ArraySegment<byte> inside = InsideLargerArray(data);
        yield return ("inside larger array", new ReadOnlySequence<byte>(inside.Array!, inside.Offset, inside.Count));
        for (int offset = 0; offset <= data.Length; offset++)
        {
            yield return ($"split at {offset}", TestSequenceSegment.Split(data, offset));
        }

        if (data.Length > 0)
        {
            yield return ("one byte per segment", TestSequenceSegment.OneBytePerSegment(data));
        }
    }

    /// <summary>Hex-like bytes from a string of ASCII/Latin-1 chars ("\x1e" etc. kept as bytes).</summary>
    public static byte[] Latin1(string text)
    {
        byte[] bytes = new byte[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            bytes[i] = checked((byte)text[i]);
        }

        return bytes;
    }
}
