namespace Gateway.Answers;

/// <summary>
/// The (viewer, prompt) pairs this gateway has taken an answer for, bounded (the oldest is forgotten first). In Redis
/// mode it only spares a round trip — the region-wide rule is the sink's atomic check; in embedded mode it is the rule.
/// </summary>
/// <remarks>Thread-safe (one short lock per answer; answers are not a per-broadcast path).</remarks>
internal sealed class AnsweredPrompts(int capacity)
{
    private readonly HashSet<(string Viewer, string PromptId)> _answered = [];
    private readonly Queue<(string Viewer, string PromptId)> _order = new();
    private readonly Lock _lock = new();

    /// <summary>Records the pair; false when it already is (the viewer answered that prompt here).</summary>
    public bool TryRecord(string viewer, string promptId)
    {
        if (capacity == 0)
        {
            return true;
        }

        lock (_lock)
        {
            if (!_answered.Add((viewer, promptId)))
            {
                return false;
            }

            _order.Enqueue((viewer, promptId));
            while (_order.Count > capacity)
            {
                _answered.Remove(_order.Dequeue());
            }

            return true;
        }
    }

    /// <summary>An answer that was not stored may be sent again.</summary>
    public void Forget(string viewer, string promptId)
    {
        lock (_lock)
        {
            _answered.Remove((viewer, promptId));
        }
    }
}
