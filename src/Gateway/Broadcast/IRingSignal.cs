namespace Gateway.Broadcast;

/// <summary>Told by the <see cref="Broadcaster"/> after each publish: the ring has new messages for its readers.</summary>
internal interface IRingSignal
{
    void Signal();
}
