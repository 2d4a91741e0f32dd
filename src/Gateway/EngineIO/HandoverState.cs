using System.Text.Json;

namespace Gateway.EngineIO;

/// <summary>
/// A polling session as one gateway hands it over to another, where its WebSocket upgrade landed: its id, what was
/// queued for it, the stream id of the last prompt it was given, and its Socket.IO sockets. JSON between gateways.
/// </summary>
/// <param name="Sid">The Engine.IO session id (unchanged: the client knows no other).</param>
/// <param name="Offset">The stream id of the last ring entry the session was given (the receiver replays what follows); null when none was.</param>
/// <param name="Queued">Polling records queued and not yet polled (the receiver sends them first, as WebSocket messages).</param>
/// <param name="Sockets">Its sockets, one per namespace.</param>
internal sealed record HandoverState(string Sid, string? Offset, byte[] Queued, HandoverSocket[] Sockets)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Whether a state read from another gateway is complete.</summary>
    public bool IsWellFormed => Sid is { Length: > 0 } && Queued is not null && Sockets is not null &&
        Array.TrueForAll(Sockets, s => s is { Namespace: not null, Id: not null, Pid: not null, Channels: not null, JoinedId: not null });
}

/// <summary>One Socket.IO socket of a <see cref="HandoverState"/>.</summary>
/// <param name="Namespace">Its namespace.</param>
/// <param name="Id">Its socket id.</param>
/// <param name="Pid">Its recovery id (a handover needs recovery: Redis mode).</param>
/// <param name="Auth">Its CONNECT payload, or null.</param>
/// <param name="Channels">The channels it is in.</param>
/// <param name="Viewer">Its viewer id (the token's <c>sub</c>), or null without viewer identity.</param>
/// <param name="ViewerChannels">The token's <c>channels</c> claim, or null.</param>
/// <param name="JoinedAt">Where it joined the stream: the position's instant…</param>
/// <param name="JoinedId">…and its stream id.</param>
internal sealed record HandoverSocket(string Namespace, string Id, string Pid, byte[]? Auth, string[] Channels, string? Viewer, string[]? ViewerChannels, long JoinedAt, string JoinedId);
