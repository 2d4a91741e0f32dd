using Gateway.Broadcast;

namespace Gateway.Prompts;

/// <summary>
/// Embedded mode: prompts come only from this gateway's admin API and go straight into its broadcaster. Always
/// ready; there is no stream, so no position and no reveal.
/// </summary>
internal sealed class EmbeddedPromptSource(Broadcaster broadcaster) : IPromptSource
{
    public string? NotReadyReason => null;

    public StreamPosition Position => default;

    public PromptStreamStats? Stream => null;

    public ValueTask<PublishOutcome> PublishAsync(PublishRequest request)
    {
        if (request.RevealAtMs is not null)
        {
            return new(PublishOutcome.Invalid("revealAt needs Redis mode (Gateway:Redis:Configuration)"));
        }

        var result = broadcaster.Publish(request.NamespaceIndex, request.Channel, request.Event, request.Data, request.Id);
        return new(PublishOutcome.Delivered(result.Id, result.Sequence));
    }
}
