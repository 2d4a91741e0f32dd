namespace Gateway.Prompts;

/// <summary>
/// Where prompts come from, and so where the admin API's publish goes. Embedded: the admin publish goes straight into
/// the broadcaster (<see cref="EmbeddedPromptSource"/>). Redis mode: the region's prompt stream, which a reader pulls
/// into the ring.
/// </summary>
/// <remarks>Thread-safe: read by sessions (under their lock) and by the admin API.</remarks>
internal interface IPromptSource
{
    /// <summary>Null when ready; otherwise why not (reported by <c>/readyz</c>; sockets stay).</summary>
    string? NotReadyReason { get; }

    /// <summary>
    /// Everything up to here has been put into the ring. A joining socket reads this before the ring's head (the
    /// source moves them the other way round), so nothing falls between the two. Embedded: always the start.
    /// </summary>
    StreamPosition Position { get; }

    /// <summary>The stream's bookkeeping for <c>/v1/stats</c>; null when there is no stream (embedded).</summary>
    PromptStreamStats? Stream { get; }

    /// <summary>The answer windows (<c>answer_until</c>) of the prompts this source has taken in recently.</summary>
    AnswerWindows AnswerWindows { get; }

    /// <summary>Publishes one prompt from the admin API.</summary>
    ValueTask<PublishOutcome> PublishAsync(PublishRequest request);
}
