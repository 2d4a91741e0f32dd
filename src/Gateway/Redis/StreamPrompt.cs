using System.Text.Json;
using Gateway.Broadcast;
using Gateway.Diagnostics;
using Gateway.Prompts;
using Gateway.Streams;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StreamPosition = Gateway.Prompts.StreamPosition;

namespace Gateway.Redis;

/// <summary>
/// A prompt stream entry decoded for this gateway: where it stands in delivery order, its target, and the tag it is
/// sent ahead with (null when send-ahead is off for it: its own <c>send_ahead</c>, else <c>Gateway:Reveal:SendAhead</c>).
/// </summary>
internal sealed record StreamPrompt(StreamId StreamId, string RawId, StreamPosition Position, PromptEntry Prompt, int NamespaceIndex, RevealTag? Tag)
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

        long sendAhead = prompt.SendAheadMs ?? context.SendAheadMs;
        return new StreamPrompt(id, rawId, StreamPosition.Of(id, prompt.RevealAtMs, sendAhead), prompt, namespaceIndex,
            RevealTag.For(prompt.Id, prompt.RevealAtMs, id.Ms, sendAhead));
    }

    /// <summary>
    /// Into the ring at <paramref name="now"/> (ms since the Unix epoch): encoded once, with its tag, and the stream id
    /// as the recovery offset when offered.
    /// </summary>
    public void Deliver(Broadcaster broadcaster, bool withOffset, long now)
    {
        using JsonDocument data = JsonDocument.Parse(Prompt.Data);
        var origin = new PromptOrigin(RawId, Prompt.RevealAtMs, StreamLagMs(now));
        broadcaster.Publish(NamespaceIndex, Prompt.Channel, Prompt.Event, data.RootElement, Prompt.Id, withOffset ? RawId : null, origin, Tag);
    }

    /// <summary>The same bytes <see cref="Deliver"/> puts into the ring, outside it: what a recovering socket is replayed.</summary>
    public PromptFrames Encode(Broadcaster broadcaster, bool withOffset)
    {
        using JsonDocument data = JsonDocument.Parse(Prompt.Data);
        return broadcaster.Encode(NamespaceIndex, Prompt.Event, data.RootElement, withOffset ? RawId : null, Tag);
    }

    /// <summary>A timed prompt not revealed at <paramref name="now"/> is recorded, so that early answers are refused.</summary>
    public void NoteReveal(PendingReveals reveals, long now)
    {
        if (Prompt.RevealAtMs is long revealAt)
        {
            reveals.Add(Prompt.Id, revealAt, now);
        }
    }

    /// <summary>
    /// Entry time → ring at <paramref name="now"/>, in ms: the stream's read lag. A timed entry counts from its reveal
    /// when that is later (its hold is intended, not lag).
    /// </summary>
    public long StreamLagMs(long now) => Math.Max(0, now - Position.VisibleAt);
}
