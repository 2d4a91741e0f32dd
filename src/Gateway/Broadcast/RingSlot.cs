namespace Gateway.Broadcast;

/// <summary>
/// One published message in the <see cref="BroadcastRing"/>: its target and its pre-encoded wire forms. The arrays are
/// reused when the slot is overwritten, and replaced by larger ones (never pooled: a lapped reader may still be copying
/// the old one) when a message is larger than any before. Readers go through the ring's validated reads only.
/// </summary>
internal sealed class RingSlot
{
    /// <summary>Sequence held now; -1 while the writer fills the slot (seqlock).</summary>
    public long Sequence = -1;

    public int NamespaceIndex;

    /// <summary>Channel id, <see cref="ChannelRegistry.WholeNamespace"/> or <see cref="ChannelRegistry.NoMembers"/>.</summary>
    public long ChannelId = ChannelRegistry.WholeNamespace;

    /// <summary>Complete server WebSocket frames: the Socket.IO packet as a text frame, then one binary frame per attachment.</summary>
    public byte[] WebSocketFrames = [];
    public int WebSocketLength;

    /// <summary>Polling records (<c>4…</c>, then <c>b…</c> per attachment) joined by the record separator.</summary>
    public byte[] PollingRecords = [];
    public int PollingLength;

    public string Id = "";
}
