using System.Text.Json;
using Gateway.Broadcast;
using Gateway.Diagnostics;
using Gateway.Prompts;
using Gateway.Streams;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StreamPosition = Gateway.Prompts.StreamPosition;

namespace Gateway.Redis;

/// <summary>A prompt stream entry decoded for this gateway: where it stands in delivery order and its target.</summary>
internal sealed record StreamPrompt(StreamId StreamId, string RawId, StreamPosition Position, PromptEntry Prompt, int NamespaceIndex)
{
    /// <summary>A stream entry as a prompt this gateway serves, or null (invalid: counted and logged; or not ours).</summary>
    public static StreamPrompt? Decode(BroadcastContext context, long maxRevealAhead, StreamEntry raw, ILogger logger)
    {
        string rawId = raw.Id.ToString();
        if (!StreamId.TryParse(rawId, out StreamId id))
        {
            return null;
        }

        string? error = PromptEntry.TryRead(raw, out PromptEntry? prompt);
        if (error is null && prompt!.RevealAtMs is long reveal && reveal - id.Ms > maxRevealAhead)
        {
            error = $"reveal_at is more than Gateway:Redis:MaxRevealAhead ({maxRevealAhead} ms) after the entry";
        }

        if (error is null && prompt!.Channel is not null && !ChannelRegistry.IsValidName(prompt.Channel))
        {
            // Never widened to the whole namespace: a name that cannot be a channel reaches nobody.
            context.Metrics.ChannelRefused((int)ChannelRefusal.PublishInvalidName);
            error = $"ch must be 1–{ChannelRegistry.MaxNameLength} characters of valid text";
        }

        if (error is not null)
        {
            context.Metrics.StreamInvalidEntry();
            Log.InvalidEntry(logger, rawId, error);
            return null;
        }

        int namespaceIndex = context.FindNamespace(prompt!.Namespace);
        if (namespaceIndex < 0)
        {
            return null; // a namespace this gateway does not serve
        }

        return new StreamPrompt(id, rawId, StreamPosition.Of(id, prompt.RevealAtMs), prompt, namespaceIndex);
    }

    /// <summary>
    /// Into the ring at <paramref name="now"/> (ms since the Unix epoch): encoded once, with the stream id as the
    /// recovery offset when offered.
    /// </summary>
    public void Deliver(Broadcaster broadcaster, bool withOffset, long now)
    {
        using JsonDocument data = JsonDocument.Parse(Prompt.Data);
        var origin = new PromptOrigin(RawId, Prompt.RevealAtMs, StreamLagMs(now));
        broadcaster.Publish(NamespaceIndex, Prompt.Channel, Prompt.Event, data.RootElement, Prompt.Id, withOffset ? RawId : null, origin);
    }

    /// <summary>
    /// Entry time → ring at <paramref name="now"/>, in ms: the stream's read lag. A timed entry counts from its reveal
    /// when that is later (its hold is intended, not lag).
    /// </summary>
    public long StreamLagMs(long now) => Math.Max(0, now - Position.VisibleAt);
}
