namespace Gateway.Broadcast;

/// <summary>
/// Where a prompt came from, for its lifecycle record: the stream entry that carried it (Redis mode), its timed
/// reveal, and how long after the entry became visible it entered the ring. Default: an admin publish (embedded mode).
/// </summary>
/// <param name="StreamId">The stream entry's id, or null (embedded mode).</param>
/// <param name="RevealAtMs">The entry's <c>reveal_at</c> (ms since the Unix epoch), or null when not timed.</param>
/// <param name="StreamLagMs">Entry time (or reveal, when later) → ring, in ms; null outside Redis mode.</param>
internal readonly record struct PromptOrigin(string? StreamId, long? RevealAtMs, long? StreamLagMs);
