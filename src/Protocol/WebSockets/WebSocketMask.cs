using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Gateway.Protocol.WebSockets;

/// <summary>RFC 6455 §5.3 masking: XOR with a 4-byte key, carried across calls by the key offset.</summary>
public static class WebSocketMask
{
    /// <summary>
    /// XORs <paramref name="data"/> in place with <paramref name="maskKey"/> (wire bytes read little-endian), starting
    /// at key byte <paramref name="maskOffset"/> (0–3). Returns the offset to continue with on the next chunk.
    /// </summary>
    public static int Apply(Span<byte> data, uint maskKey, int maskOffset)
    {
        if (data.IsEmpty)
        {
            return maskOffset;
        }

        // Rotate so that byte 0 of the rotated key is the key byte for data[0].
        uint rotated = BitOperations.RotateRight(maskKey, 8 * (maskOffset & 3));
        int i = 0;
        ref byte start = ref MemoryMarshal.GetReference(data);

        if (Vector256.IsHardwareAccelerated && data.Length >= Vector256<byte>.Count)
        {
            Vector256<byte> key = Vector256.Create(rotated).AsByte();
            int last = data.Length - Vector256<byte>.Count;
            for (; i <= last; i += Vector256<byte>.Count)
            {
                ref byte at = ref Unsafe.Add(ref start, i);
                Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref at) ^ key, ref at);
            }
        }
        else if (Vector128.IsHardwareAccelerated && data.Length >= Vector128<byte>.Count)
        {
            Vector128<byte> key = Vector128.Create(rotated).AsByte();
            int last = data.Length - Vector128<byte>.Count;
            for (; i <= last; i += Vector128<byte>.Count)
            {
                ref byte at = ref Unsafe.Add(ref start, i);
                Vector128.StoreUnsafe(Vector128.LoadUnsafe(ref at) ^ key, ref at);
            }
        }

        ulong key64 = rotated | ((ulong)rotated << 32);
        for (; i + 8 <= data.Length; i += 8)
        {
            ref byte at = ref Unsafe.Add(ref start, i);
            Unsafe.WriteUnaligned(ref at, Unsafe.ReadUnaligned<ulong>(ref at) ^ key64);
        }

        // Every block above is a multiple of 4 bytes, so the key phase is unchanged here.
        for (; i < data.Length; i++)
        {
            Unsafe.Add(ref start, i) ^= (byte)(rotated >> (8 * (i & 3)));
        }

        return (maskOffset + data.Length) & 3;
    }
}
