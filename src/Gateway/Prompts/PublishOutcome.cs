namespace Gateway.Prompts;

/// <summary>What became of a publish: accepted (with the prompt's id and where it went), refused as invalid, or unavailable.</summary>
internal readonly record struct PublishOutcome(PublishStatus Status, string? Id, long Sequence, string? StreamId, string? Error, long? PushAtMs = null)
{
    /// <summary>Put into this gateway's ring at <paramref name="sequence"/>.</summary>
    public static PublishOutcome Delivered(string id, long sequence) => new(PublishStatus.Accepted, id, sequence, null, null);

    /// <summary>Appended to the region's stream as <paramref name="streamId"/>; every gateway delivers it (this one too).</summary>
    public static PublishOutcome Appended(string id, string streamId) => new(PublishStatus.Accepted, id, 0, streamId, null);

    /// <summary>Held by this gateway until <paramref name="pushAtMs"/> (a timed prompt, embedded mode); no ring sequence yet.</summary>
    public static PublishOutcome Scheduled(string id, long pushAtMs) => new(PublishStatus.Accepted, id, -1, null, null, pushAtMs);

    public static PublishOutcome Invalid(string error) => new(PublishStatus.Invalid, null, 0, null, error);

    public static PublishOutcome Unavailable(string error) => new(PublishStatus.Unavailable, null, 0, null, error);
}
