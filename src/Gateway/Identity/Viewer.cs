namespace Gateway.Identity;

/// <summary>
/// The viewer behind a socket, as its CONNECT token says: <c>sub</c> and the optional <c>channels</c> claim. Immutable;
/// shared by reference between the socket and its answers.
/// </summary>
internal sealed class Viewer(string id, string[]? channels)
{
    /// <summary>The token's <c>sub</c>: one answer per prompt is counted against it, region-wide.</summary>
    public string Id { get; } = id;

    /// <summary>The channels the token allows; null when it has no <c>channels</c> claim (any channel).</summary>
    public string[]? Channels { get; } = channels;

    public bool MayJoin(string channel) => Channels is null || Array.IndexOf(Channels, channel) >= 0;
}
