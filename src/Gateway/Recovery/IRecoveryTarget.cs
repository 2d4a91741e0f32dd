namespace Gateway.Recovery;

/// <summary>Who asked for a recovery (the Engine.IO session): told the outcome, on the recovery's thread.</summary>
internal interface IRecoveryTarget
{
    /// <summary>
    /// <paramref name="state"/> restores the socket (same id, channels, the prompts it missed, <c>recovered: true</c>);
    /// null connects it fresh.
    /// </summary>
    void CompleteRecovery(RecoveryRequest request, RecoveredState? state);
}
