namespace Gateway.EngineIO;

/// <summary>
/// Engine.IO / Socket.IO ids: 15 random bytes, base64url (20 chars), as base64id does. In a region an Engine.IO
/// session id begins with the instance id of the gateway that holds the session (<see cref="Region.IRegionPeers"/>),
/// so that any gateway knows where a request of that session belongs.
/// </summary>
internal static class SessionIds
{
    /// <summary>Length of an id without an instance prefix.</summary>
    public const int RandomLength = 20;

    /// <summary>A new session id held by <paramref name="instance"/> (null: a gateway alone).</summary>
    public static string New(string? instance) => instance is null ? New() : instance + New();

    /// <summary>
    /// The instance prefix of <paramref name="sid"/> (ASCII) when it has one of <paramref name="instanceLength"/>
    /// characters; empty otherwise.
    /// </summary>
    public static ReadOnlySpan<byte> InstanceOf(ReadOnlySpan<byte> sid, int instanceLength) =>
        instanceLength > 0 && sid.Length == instanceLength + RandomLength ? sid.Slice(0, instanceLength) : default;

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
