using System.Text.Json;
using StackExchange.Redis;

namespace Gateway.Streams;

/// <summary>
/// One prompt as it travels through a region's Redis stream (the wire contract in the README, "Redis mode"). Any
/// backend can publish one with a plain Redis client: <c>XADD gateway:prompts MAXLEN ~ N * id … ns … ch … ev … data …
/// [reveal_at …] [send_ahead …]</c>, then <c>PUBLISH gateway:prompts:wake &lt;stream id&gt;</c>.
/// </summary>
/// <param name="Id">The publisher's prompt id: the same in every region, and the key gateways deduplicate on.</param>
/// <param name="Namespace">Socket.IO namespace, <c>/</c> by default.</param>
/// <param name="Channel">Channel inside the namespace; null or empty = the whole namespace.</param>
/// <param name="Event">Event name, <c>prompt</c> by default.</param>
/// <param name="Data">The event's arguments: a JSON array, as text.</param>
/// <param name="RevealAtMs">Wall-clock instant (ms since the Unix epoch) to show it at; null = at once.</param>
/// <param name="SendAheadMs">
/// How long before <paramref name="RevealAtMs"/> gateways push it, with the reveal instant attached, so that viewers
/// show it at that instant on the server's clock; null = the gateways' <c>Gateway:Reveal:SendAhead</c>, 0 = at the reveal.
/// </param>
/// <param name="AnswerUntilMs">Wall-clock instant (ms since the Unix epoch) after which answers are refused (<c>closed</c>); null = no limit.</param>
public sealed record PromptEntry(string Id, string Namespace, string? Channel, string Event, string Data, long? RevealAtMs = null, long? SendAheadMs = null, long? AnswerUntilMs = null)
{
    public const string IdField = "id";
    public const string NamespaceField = "ns";
    public const string ChannelField = "ch";
    public const string EventField = "ev";
    public const string DataField = "data";
    public const string RevealAtField = "reveal_at";
    public const string SendAheadField = "send_ahead";
    public const string AnswerUntilField = "answer_until";

    public const string DefaultNamespace = "/";
    public const string DefaultEvent = "prompt";

    /// <summary>Upper bound for an id, so a hostile entry cannot make the deduplication window large.</summary>
    public const int MaxIdLength = 200;

    /// <summary>The stream fields, in contract order.</summary>
    public NameValueEntry[] ToFields()
    {
        var fields = new List<NameValueEntry>(7)
        {
            new(IdField, Id),
            new(NamespaceField, Namespace),
            new(ChannelField, Channel ?? ""),
            new(EventField, Event),
            new(DataField, Data),
        };
        if (RevealAtMs is long revealAt)
        {
            fields.Add(new(RevealAtField, revealAt));
        }

        if (SendAheadMs is long sendAhead)
        {
            fields.Add(new(SendAheadField, sendAhead));
        }

        if (AnswerUntilMs is long answerUntil)
        {
            fields.Add(new(AnswerUntilField, answerUntil));
        }

        return fields.ToArray();
    }

    /// <summary>Checks a prompt before it is written: the reason it is invalid, or null.</summary>
    public string? Validate()
    {
        if (string.IsNullOrEmpty(Id) || Id.Length > MaxIdLength)
        {
            return $"id must be 1–{MaxIdLength} characters";
        }

        if (string.IsNullOrEmpty(Namespace) || Namespace[0] != '/')
        {
            return "ns must start with '/'";
        }

        if (string.IsNullOrEmpty(Event))
        {
            return "ev must be a non-empty event name";
        }

        if (RevealAtMs is < 0 || AnswerUntilMs is < 0)
        {
            return "reveal_at and answer_until must be milliseconds since the epoch";
        }

        if (AnswerUntilMs < RevealAtMs)
        {
            return "answer_until must not be before reveal_at";
        }

        if (SendAheadMs is < 0)
        {
            return "send_ahead must be >= 0 ms";
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(Data);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return "data must be a JSON array (the event's arguments)";
            }
        }
        catch (JsonException)
        {
            return "data must be a JSON array (the event's arguments)";
        }

        return null;
    }

    /// <summary>
    /// Reads a stream entry written by any publisher. Missing optional fields take their defaults; the reason is
    /// returned when the entry cannot be a prompt (it is then skipped and counted, never delivered half-read).
    /// </summary>
    public static string? TryRead(StreamEntry entry, out PromptEntry? prompt)
    {
        prompt = null;
        string? id = null, ns = null, ch = null, ev = null, data = null, revealAt = null, sendAhead = null, answerUntil = null;
        foreach (NameValueEntry field in entry.Values)
        {
            switch ((string?)field.Name)
            {
                case IdField: id = field.Value; break;
                case NamespaceField: ns = field.Value; break;
                case ChannelField: ch = field.Value; break;
                case EventField: ev = field.Value; break;
                case DataField: data = field.Value; break;
                case RevealAtField: revealAt = field.Value; break;
                case SendAheadField: sendAhead = field.Value; break;
                case AnswerUntilField: answerUntil = field.Value; break;
            }
        }

        if (!TryReadMilliseconds(revealAt, out long? revealAtMs))
        {
            return "reveal_at must be milliseconds since the epoch";
        }

        if (!TryReadMilliseconds(sendAhead, out long? sendAheadMs))
        {
            return "send_ahead must be milliseconds (>= 0)";
        }

        if (!TryReadMilliseconds(answerUntil, out long? answerUntilMs))
        {
            return "answer_until must be milliseconds since the epoch";
        }

        var candidate = new PromptEntry(
            id ?? "",
            string.IsNullOrEmpty(ns) ? DefaultNamespace : ns,
            string.IsNullOrEmpty(ch) ? null : ch,
            string.IsNullOrEmpty(ev) ? DefaultEvent : ev,
            string.IsNullOrEmpty(data) ? "[]" : data,
            revealAtMs,
            sendAheadMs,
            answerUntilMs);
        string? error = candidate.Validate();
        if (error is null)
        {
            prompt = candidate;
        }

        return error;
    }

    /// <summary>An optional field of whole milliseconds (digits only); empty or missing is null.</summary>
    private static bool TryReadMilliseconds(string? text, out long? ms)
    {
        ms = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (!long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long value))
        {
            return false;
        }

        ms = value;
        return true;
    }
}
