namespace Gateway.Broadcast;

/// <summary>What the <see cref="FanOut{TMember}"/> needs of a recipient: its state and one call to catch up.</summary>
internal interface IFanOutMember
{
    /// <summary>Closed members are dropped from their partition when met.</summary>
    bool IsClosed { get; }

    /// <summary>Sends what the ring holds beyond the member's cursor. Called on a fan-out worker thread.</summary>
    void PumpBroadcasts();

    /// <summary>
    /// <see cref="PumpBroadcasts"/> threw (a gateway bug): the member ends itself; the rest of the partition goes on.
    /// </summary>
    void OnPumpFailed(Exception exception);
}
