using Gateway.Identity;
using Gateway.Prompts;

namespace Gateway.Recovery;

/// <summary>A CONNECT that asked to recover a session (its auth carried a pid), and who to tell the outcome.</summary>
internal sealed class RecoveryRequest(IRecoveryTarget target, int namespaceIndex, string pid, string? offset, byte[]? auth, List<string>? authChannels, Viewer? viewer = null)
{
    public IRecoveryTarget Target { get; } = target;

    public int NamespaceIndex { get; } = namespaceIndex;

    public string Pid { get; } = pid;

    /// <summary>The offset as the client sent it (the last prompt it got), or null.</summary>
    public string? OffsetText { get; } = offset;

    /// <summary>The offset as a stream id; null when absent or not one.</summary>
    public StreamId? Offset { get; } = offset is not null && StreamId.TryParse(offset, out StreamId id) ? id : null;

    public byte[]? Auth { get; } = auth;

    public List<string>? AuthChannels { get; } = authChannels;

    /// <summary>The viewer this CONNECT's token named (checked before the request was made), or null.</summary>
    public Viewer? Viewer { get; } = viewer;

    /// <summary>
    /// Not a CONNECT: a socket handed over by another gateway (its record is this, no reply is written); null for a
    /// client's recovery.
    /// </summary>
    public HandedOverSocket? HandedOver { get; init; }
}
