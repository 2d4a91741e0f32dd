namespace Gateway.Answers;

/// <summary>
/// Where viewers' answers go. Embedded: nowhere (<see cref="EmbeddedAnswerSink"/>, every answer is refused as
/// unavailable). Redis mode: the region's answers stream, each acked only after Redis accepted it.
/// </summary>
/// <remarks>Thread-safe; <see cref="TryAccept"/> is called under the sending session's lock and never waits.</remarks>
internal interface IAnswerSink
{
    /// <summary>
    /// False: there is no store, and every answer is refused as <see cref="AnswerRefusal.Unavailable"/> before the
    /// socket's own checks (duplicate, rate) are made.
    /// </summary>
    bool Stores { get; }

    /// <summary>Answers accepted and not yet acknowledged.</summary>
    int Pending { get; }

    /// <summary>
    /// Takes <paramref name="answer"/>: true when it will be acked later through its acknowledger, false with the
    /// reason when it is refused now (the caller acks at once).
    /// </summary>
    bool TryAccept(PendingAnswer answer, out AnswerRefusal refusal);

    /// <summary>
    /// The region's tally of <paramref name="promptIds"/>: every answer stored, by choice (as <see cref="AnswerTally"/>
    /// counts them), whichever gateway took it. Null when there is none (embedded) or it cannot be read now.
    /// </summary>
    Task<Dictionary<string, Dictionary<string, long>>?> ReadTallyAsync(IReadOnlyList<string> promptIds, CancellationToken cancellationToken);
}
