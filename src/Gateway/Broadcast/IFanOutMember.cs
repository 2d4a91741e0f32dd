namespace Gateway.Broadcast;

/// <summary>What the <see cref="FanOut"/> needs of a recipient: its state, one call to catch up, and how it ends.</summary>
internal interface IFanOutMember
{
    /// <summary>Closed members are dropped from their partition when met.</summary>
    bool IsClosed { get; }

    /// <summary>The next ring sequence the member has to be sent (the fan-out's ring lag gauge reads the slowest).</summary>
    long Cursor { get; }

    /// <summary>
    /// Sends what the ring holds beyond the member's cursor, telling <paramref name="tally"/> (when tracked) of each
    /// message written. Called on a fan-out worker thread.
    /// </summary>
    void PumpBroadcasts(DeliveryTally? tally);

    /// <summary>
    /// <see cref="PumpBroadcasts"/> threw (a gateway bug): the member ends itself; the rest of the partition goes on.
    /// </summary>
    void OnPumpFailed(Exception exception);

    /// <summary>
    /// The prompt stream had a gap: the member ends its transport so the client reconnects and resyncs (recovery
    /// answers <c>recovered: false</c>). False when it was closed already.
    /// </summary>
    bool CloseForResync();
}
