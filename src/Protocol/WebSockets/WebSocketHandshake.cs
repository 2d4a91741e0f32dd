using System.Buffers.Text;
using System.Security.Cryptography;

namespace Gateway.Protocol.WebSockets;

/// <summary>RFC 6455 §4.2.2 opening handshake: the accept key, and the checks on a client's key.</summary>
public static class WebSocketHandshake
{
    /// <summary>Length of <c>Sec-WebSocket-Accept</c>: base64 of a 20-byte SHA-1.</summary>
    public const int AcceptKeyLength = 28;

    /// <summary>Length of a valid <c>Sec-WebSocket-Key</c>: base64 of 16 bytes.</summary>
    public const int KeyLength = 24;

    private static ReadOnlySpan<byte> Guid => "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8;

    /// <summary>True when the key is base64 of exactly 16 bytes (same rule as `ws`: 22 chars then "==").</summary>
    public static bool IsValidKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeyLength || key[22] != (byte)'=' || key[23] != (byte)'=')
        {
            return false;
        }

        foreach (byte c in key.Slice(0, 22))
        {
            bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Writes base64(SHA-1(key + GUID)) into <paramref name="destination"/> (28 bytes).</summary>
    public static void ComputeAcceptKey(ReadOnlySpan<byte> key, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[64];
        key.CopyTo(input);
        Guid.CopyTo(input.Slice(key.Length));
        Span<byte> hash = stackalloc byte[Sha1.HashLength];
        Sha1.HashData(input.Slice(0, key.Length + Guid.Length), hash);
        Base64.EncodeToUtf8(hash, destination, out _, out _);
    }

    /// <summary>Writes a fresh random client key (24 bytes of base64) for a client handshake.</summary>
    public static void CreateClientKey(Span<byte> destination)
    {
        Span<byte> nonce = stackalloc byte[16];
        RandomNumberGenerator.Fill(nonce);
        Base64.EncodeToUtf8(nonce, destination, out _, out _);
    }
}
