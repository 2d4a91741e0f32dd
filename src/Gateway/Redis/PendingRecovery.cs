using Gateway.Recovery;

namespace Gateway.Redis;

/// <summary>A <see cref="RecoveryRequest"/> waiting for the reader, with what the reader learned about it so far.</summary>
internal sealed class PendingRecovery(RecoveryRequest request)
{
    public RecoveryRequest Request { get; } = request;

    public int NamespaceIndex => Request.NamespaceIndex;

    public string Pid => Request.Pid;

    public string? OffsetText => Request.OffsetText;

    public Prompts.StreamId? Offset => Request.Offset;

    public List<string>? AuthChannels => Request.AuthChannels;

    /// <summary>Taken from Redis on the first attempt (GETDEL), kept for the retries.</summary>
    public SessionRecord? Record { get; set; }

    public int Attempts { get; set; }

    public long RequestedAt { get; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>The pid's gateway looked alive: asked again on a later round.</summary>
    public bool WaitingForInstance { get; set; }

    /// <summary>Tells the session the outcome.</summary>
    public void Complete(RecoveredState? state) => Request.Target.CompleteRecovery(Request, state);
}
