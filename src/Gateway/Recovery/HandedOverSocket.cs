using Gateway.Prompts;

namespace Gateway.Recovery;

/// <summary>
/// A socket whose session another gateway of the region handed over to this one (its WebSocket upgrade landed here):
/// what that gateway knew of it. Restored as a recovery whose record is this, silently: the client never left.
/// </summary>
internal sealed record HandedOverSocket(string Sid, string Namespace, string[] Channels, StreamPosition Joined);
