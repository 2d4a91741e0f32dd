using System.Collections.Concurrent;

namespace Gateway.Prompts;

/// <summary>
/// The answer windows of recent prompts: prompt id → <c>answer_until</c> (ms since the Unix epoch), for the prompts that
/// carry one. Filled by the prompt source as it takes a prompt in, read by the <c>answer</c> event; bounded (the oldest
/// prompt is forgotten first, and a prompt it no longer knows has no window).
/// </summary>
/// <remarks>Thread-safe: reads take no lock; writers (the prompt source) serialise on one.</remarks>
internal sealed class AnswerWindows(int capacity)
{
    private readonly ConcurrentDictionary<string, long> _until = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private readonly Lock _writeLock = new();

    /// <summary>Records the window of <paramref name="promptId"/>; nothing when it has none. The first record of an id wins.</summary>
    public void Open(string promptId, long? answerUntilMs)
    {
        if (answerUntilMs is not long until)
        {
            return;
        }

        lock (_writeLock)
        {
            if (!_until.TryAdd(promptId, until))
            {
                return;
            }

            _order.Enqueue(promptId);
            while (_order.Count > capacity)
            {
                _until.TryRemove(_order.Dequeue(), out _);
            }
        }
    }

    /// <summary>True when <paramref name="promptId"/> has a window and <paramref name="nowMs"/> is past it.</summary>
    public bool IsClosed(string promptId, long nowMs) => _until.TryGetValue(promptId, out long until) && nowMs > until;
}
