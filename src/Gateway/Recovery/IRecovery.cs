using Gateway.Prompts;

namespace Gateway.Recovery;

/// <summary>
/// Socket.IO connection-state recovery: CONNECT replies carry a pid, a closed socket leaves a record behind, and a
/// CONNECT that brings a pid (and an offset) back is restored with the prompts it missed. Embedded: not offered
/// (<see cref="NoRecovery"/>). Redis mode: session records and signed pids in the region's Redis, served on any
/// gateway of the region.
/// </summary>
/// <remarks>
/// Thread-safe. Save calls come from a session under its lock and never wait; a request completes later, on another
/// thread, through <see cref="IRecoveryTarget"/>.
/// </remarks>
internal interface IRecovery
{
    /// <summary>CONNECT replies carry a pid and prompts their offset. When false nothing else here is called.</summary>
    bool Offered { get; }

    /// <summary>The pid for a socket that joined <paramref name="namespaceName"/> at <paramref name="joined"/>.</summary>
    string IssuePid(string sid, string namespaceName, StreamPosition joined);

    /// <summary>
    /// Records a socket whose transport closed (a recoverable close), so that it can be restored within
    /// <c>Recovery:MaxDisconnection</c>. Fire and forget: a close never waits.
    /// </summary>
    void SaveSession(string pid, string sid, string namespaceName, StreamPosition joined, ReadOnlySpan<string> channels);

    /// <summary>Records the channels of a socket whose membership changed by event after its CONNECT. Fire and forget.</summary>
    void SaveChannels(string pid, ReadOnlySpan<string> channels);

    /// <summary>
    /// Queues a recovery for a CONNECT that carried a pid; it completes through <see cref="RecoveryRequest.Target"/>.
    /// False when it cannot be served now: the caller connects the socket fresh (<c>recovered: false</c>).
    /// </summary>
    bool TryRequest(RecoveryRequest request);

    /// <summary>Shutdown: returns once the records saved so far are stored (or cannot be).</summary>
    void Flush();
}
