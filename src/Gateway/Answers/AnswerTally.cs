using System.Collections.Concurrent;
using System.Text.Json;

namespace Gateway.Answers;

/// <summary>
/// Answers this gateway stored, per prompt and per choice (the answer object's <c>choice</c> member, as JSON text;
/// <c>"-"</c> when it has none): what the operator console charts. Counted on the accepted-answer path (the sink's
/// <c>ok</c>), so it is this instance's share in Redis mode, and empty in embedded mode (nothing is stored).
/// </summary>
/// <remarks>Thread-safe; one count per stored answer (not per message). Keeps the <see cref="MaxPrompts"/> newest prompts.</remarks>
internal sealed class AnswerTally
{
    /// <summary>Prompts kept; the one answered first is forgotten first.</summary>
    public const int MaxPrompts = 256;

    /// <summary>Distinct choices counted per prompt; beyond, <see cref="OtherChoices"/>.</summary>
    public const int MaxChoicesPerPrompt = 64;
    private const string NoChoice = "-";
    /// <summary>Where choices beyond <see cref="MaxChoicesPerPrompt"/> are counted.</summary>
    public const string OtherChoices = "other";

    private readonly ConcurrentDictionary<string, PromptAnswers> _prompts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    /// <summary>Counts one stored answer: <paramref name="data"/> is the answer object as the client sent it.</summary>
    public void Count(string promptId, string data)
    {
        PromptAnswers prompt = _prompts.GetOrAdd(promptId, static (id, tally) =>
        {
            tally._order.Enqueue(id);
            return new PromptAnswers();
        }, this);
        while (_order.Count > MaxPrompts && _order.TryDequeue(out string? oldest))
        {
            _prompts.TryRemove(oldest, out _);
        }

        string choice = ChoiceOf(data);
        lock (prompt)
        {
            if (!prompt.Choices.ContainsKey(choice) && prompt.Choices.Count >= MaxChoicesPerPrompt)
            {
                choice = OtherChoices; // a client inventing choices cannot grow the table
            }

            prompt.Choices[choice] = prompt.Choices.GetValueOrDefault(choice) + 1;
            prompt.Total++;
        }
    }

    /// <summary>A copy of the counts: prompt id → (total, choice → count).</summary>
    public Dictionary<string, (long Total, Dictionary<string, long> Choices)> Snapshot()
    {
        var copy = new Dictionary<string, (long, Dictionary<string, long>)>(StringComparer.Ordinal);
        foreach ((string id, PromptAnswers prompt) in _prompts)
        {
            lock (prompt)
            {
                copy[id] = (prompt.Total, new Dictionary<string, long>(prompt.Choices, StringComparer.Ordinal));
            }
        }

        return copy;
    }

    /// <summary>The <c>choice</c> member of the answer object as compact JSON text (<c>2</c>, <c>"red"</c>), or <c>-</c>.</summary>
    internal static string ChoiceOf(string data)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(data);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("choice", out JsonElement choice))
            {
                string text = choice.ValueKind == JsonValueKind.String ? choice.GetString()! : choice.GetRawText();
                return text.Length <= 64 ? text : text[..64];
            }
        }
        catch (JsonException)
        {
            // Stored as the client sent it; only its choice cannot be read.
        }

        return NoChoice;
    }

    private sealed class PromptAnswers
    {
        public long Total;
        public readonly Dictionary<string, long> Choices = new(StringComparer.Ordinal);
    }
}
