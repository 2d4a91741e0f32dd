using Gateway.Broadcast;

namespace Gateway.Prompts;

/// <summary>
/// Embedded mode: prompts come only from this gateway's admin API and go straight into its broadcaster. Always
/// ready; there is no stream, so no position and no reveal.
/// </summary>
internal sealed class EmbeddedPromptSource(Broadcaster broadcaster) : IPromptSource
{
    public string? NotReadyReason => null;

    /// <summary>Prompts whose answer windows are remembered.</summary>
    public const int RememberedWindows = 100_000;

    public StreamPosition Position => default;

    public AnswerWindows AnswerWindows { get; } = new(RememberedWindows);

    public PromptStreamStats? Stream => null;

    public ValueTask<PublishOutcome> PublishAsync(PublishRequest request)
    {
        if (request.RevealAtMs is not null)
        {
            return new(PublishOutcome.Invalid("revealAt needs Redis mode (Gateway:Redis:Configuration)"));
        }

        if (request.AnswerUntilMs is < 0)
        {
            return new(PublishOutcome.Invalid("answerUntil must be milliseconds since the epoch"));
        }

        var result = broadcaster.Publish(request.NamespaceIndex, request.Channel, request.Event, request.Data, request.Id);
        AnswerWindows.Open(result.Id, request.AnswerUntilMs);
        return new(PublishOutcome.Delivered(result.Id, result.Sequence));
    }
}
