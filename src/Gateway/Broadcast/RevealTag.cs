using System.Text.Json;

namespace Gateway.Broadcast;

/// <summary>
/// What a prompt sent ahead carries after its data (and before the recovery offset, which socket.io-client reads as
/// the last argument): <c>{"id":"q-42","revealAt":1764700005000}</c> — the prompt's id, and the wall-clock instant
/// (ms since the Unix epoch, the server's clock) at which viewers show it, present when the prompt is timed. Attached
/// only when send-ahead is on for the prompt, so with <c>Gateway:Reveal:SendAhead</c> 0 the wire is as before.
/// </summary>
/// <remarks>
/// Decided from the prompt alone (its id, reveal instant, publish instant and send-ahead), never from when it is
/// delivered: the ring, the late-join cache and a recovery replay carry the same tag.
/// </remarks>
internal sealed record RevealTag(string PromptId, long? RevealAtMs)
{
    /// <summary>The tag of a prompt published at <paramref name="publishedAt"/>; null when send-ahead is off for it.</summary>
    public static RevealTag? For(string promptId, long? revealAtMs, long publishedAt, long sendAheadMs) =>
        sendAheadMs > 0 ? new(promptId, revealAtMs > publishedAt ? revealAtMs : null) : null;

    /// <summary>
    /// When a prompt goes out (ms since the Unix epoch): at its publish, or <paramref name="sendAheadMs"/> before its
    /// reveal when that is later. With no send-ahead, at the reveal.
    /// </summary>
    public static long PushAt(long? revealAtMs, long publishedAt, long sendAheadMs) =>
        revealAtMs is long reveal && reveal > publishedAt ? Math.Max(publishedAt, reveal - Math.Max(0, sendAheadMs)) : publishedAt;

    /// <summary>Writes the tag as one JSON object argument.</summary>
    public void WriteTo(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("id"u8, PromptId);
        if (RevealAtMs is long revealAt)
        {
            json.WriteNumber("revealAt"u8, revealAt);
        }

        json.WriteEndObject();
    }
}
