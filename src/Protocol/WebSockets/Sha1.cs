using System.Buffers.Binary;
using System.Numerics;

namespace Gateway.Protocol.WebSockets;

/// <summary>
/// FIPS 180-4 SHA-1, for the RFC 6455 accept key only (a framing checksum, not a security boundary). Managed so
/// that a server handshake does not load OpenSSL: on Linux <c>SHA1.HashData</c> maps libcrypto/libssl and
/// initialises OpenSSL, ≈ 5 MB of RSS for a 60-byte hash per connection.
/// </summary>
internal static class Sha1
{
    public const int HashLength = 20;

    /// <summary>Writes SHA-1(<paramref name="data"/>) into <paramref name="hash"/> (20 bytes).</summary>
    public static void HashData(ReadOnlySpan<byte> data, Span<byte> hash)
    {
        uint h0 = 0x67452301, h1 = 0xEFCDAB89, h2 = 0x98BADCFE, h3 = 0x10325476, h4 = 0xC3D2E1F0;
        Span<uint> w = stackalloc uint[80];
        Span<byte> tail = stackalloc byte[128];

        int whole = data.Length & ~63;
        for (int offset = 0; offset < whole; offset += 64)
        {
            Block(data.Slice(offset, 64), w, ref h0, ref h1, ref h2, ref h3, ref h4);
        }

        // Padding: 0x80, zeros, then the bit length big-endian in the last 8 bytes of one or two blocks.
        int rest = data.Length - whole;
        int tailLength = rest + 9 <= 64 ? 64 : 128;
        tail.Clear();
        data.Slice(whole).CopyTo(tail);
        tail[rest] = 0x80;
        BinaryPrimitives.WriteUInt64BigEndian(tail.Slice(tailLength - 8), (ulong)data.Length * 8);
        for (int offset = 0; offset < tailLength; offset += 64)
        {
            Block(tail.Slice(offset, 64), w, ref h0, ref h1, ref h2, ref h3, ref h4);
        }

        BinaryPrimitives.WriteUInt32BigEndian(hash, h0);
        BinaryPrimitives.WriteUInt32BigEndian(hash.Slice(4), h1);
        BinaryPrimitives.WriteUInt32BigEndian(hash.Slice(8), h2);
        BinaryPrimitives.WriteUInt32BigEndian(hash.Slice(12), h3);
        BinaryPrimitives.WriteUInt32BigEndian(hash.Slice(16), h4);
    }

    private static void Block(ReadOnlySpan<byte> block, Span<uint> w, ref uint h0, ref uint h1, ref uint h2, ref uint h3, ref uint h4)
    {
        for (int i = 0; i < 16; i++)
        {
            w[i] = BinaryPrimitives.ReadUInt32BigEndian(block.Slice(i * 4));
        }

        for (int i = 16; i < 80; i++)
        {
            w[i] = BitOperations.RotateLeft(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        }

        uint a = h0, b = h1, c = h2, d = h3, e = h4;
        for (int i = 0; i < 80; i++)
        {
            uint f, k;
            if (i < 20)
            {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            }
            else if (i < 40)
            {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            }
            else if (i < 60)
            {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            }
            else
            {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }

            uint t = BitOperations.RotateLeft(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = BitOperations.RotateLeft(b, 30);
            b = a;
            a = t;
        }

        h0 += a;
        h1 += b;
        h2 += c;
        h3 += d;
        h4 += e;
    }
}
