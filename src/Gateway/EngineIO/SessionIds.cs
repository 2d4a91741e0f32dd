namespace Gateway.EngineIO;

/// <summary>Engine.IO / Socket.IO ids: 15 random bytes, base64url (20 chars), as base64id does.</summary>
internal static class SessionIds
{
    /// <summary>A new id.</summary>
    /// <remarks>
    /// The bytes come from <see cref="Guid.NewGuid"/>, which on Unix reads the kernel's CSPRNG (getrandom) as
    /// <c>RandomNumberGenerator</c> does, but without loading OpenSSL (≈ 5 MB of RSS on Linux). A v4 GUID has 122
    /// random bits: bytes 0–6 and 9–15 (the version nibble is in byte 7, the variant bits in byte 8), so two GUIDs.
    /// </remarks>
    public static string New()
    {
        Span<byte> guids = stackalloc byte[32];
        Guid.NewGuid().TryWriteBytes(guids);
        Guid.NewGuid().TryWriteBytes(guids.Slice(16));
        Span<byte> bytes = stackalloc byte[15];
        guids.Slice(0, 7).CopyTo(bytes);
        guids.Slice(9, 7).CopyTo(bytes.Slice(7));
        bytes[14] = guids[16];
        return System.Buffers.Text.Base64Url.EncodeToString(bytes);
    }
}
