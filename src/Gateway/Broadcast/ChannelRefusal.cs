namespace Gateway.Broadcast;

/// <summary>
/// Why a socket could not join a channel, or a publish could not be addressed to one. Counted by reason
/// (<c>gateway.channels.refused</c>); the client reads the wire text (<see cref="ChannelRefusals"/>).
/// </summary>
internal enum ChannelRefusal
{
    None,

    /// <summary>Not a string, empty, longer than <see cref="ChannelRegistry.MaxNameLength"/>, or not well-formed text.</summary>
    InvalidName,

    /// <summary>More than <c>Gateway:MaxChannelsPerSocket</c> channels at once.</summary>
    TooManyChannels,

    /// <summary>The socket has created <c>Gateway:Channels:NewPerSocket</c> names already.</summary>
    NewPerSocket,

    /// <summary><c>Gateway:Channels:Max</c> names are in use.</summary>
    RegistryFull,

    /// <summary>More than <c>Gateway:Channels:NewPerSecond</c> names created gateway-wide this second.</summary>
    NewPerSecond,

    /// <summary>A publish (admin API or prompt stream entry) to a name that cannot be a channel: refused, never widened.</summary>
    PublishInvalidName,

    /// <summary>The viewer's token (<c>Gateway:Auth:Jwt</c>) lists channels, and not this one.</summary>
    NotAllowed,
}

/// <summary>What each <see cref="ChannelRefusal"/> looks like on the wire and in metrics.</summary>
internal static class ChannelRefusals
{
    /// <summary>The metric tag of each refusal, by number (snake_case of the name); <see cref="ChannelRefusal.None"/> included.</summary>
    public static readonly string[] Names = Enum.GetValues<ChannelRefusal>()
        .Select(refusal => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(refusal.ToString()))
        .ToArray();

    /// <summary>The <c>error</c> of a refused <c>subscribe</c> ack.</summary>
    public static string AckText(this ChannelRefusal refusal) => refusal switch
    {
        ChannelRefusal.TooManyChannels => "too many channels",
        ChannelRefusal.NewPerSocket => "too many new channels",
        ChannelRefusal.RegistryFull => "channels full",
        ChannelRefusal.NewPerSecond => "too many new channels, retry later",
        ChannelRefusal.NotAllowed => "channel not allowed",
        _ => "invalid channel",
    };

    /// <summary>The <c>message</c> of a CONNECT_ERROR for a refused handshake channel list.</summary>
    public static ReadOnlySpan<byte> ConnectErrorText(this ChannelRefusal refusal) => refusal switch
    {
        ChannelRefusal.TooManyChannels => "Too many channels"u8,
        ChannelRefusal.NewPerSocket => "Too many new channels"u8,
        ChannelRefusal.RegistryFull => "Channels full"u8,
        ChannelRefusal.NewPerSecond => "Too many new channels, retry later"u8,
        ChannelRefusal.NotAllowed => "Channel not allowed"u8,
        _ => "Invalid channels"u8,
    };
}
