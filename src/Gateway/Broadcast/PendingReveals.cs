using System.Collections.Concurrent;

namespace Gateway.Broadcast;

/// <summary>
/// The prompts this gateway knows of whose reveal instant has not come yet, by prompt id: an answer to one of them is
/// refused as too early, so a prompt sent ahead (or an id learnt elsewhere) gives no answering advantage.
/// </summary>
/// <remarks>
/// Thread-safe: prompt sources add (per prompt), answer handlers read (per answer). An entry goes when it is read
/// after its reveal, or when the table grows past <see cref="PruneAbove"/> and is swept; it is never needed after its
/// reveal, so the table holds at most the prompts waiting for one (bounded by the sources' reveal horizon).
/// </remarks>
internal sealed class PendingReveals
{
    /// <summary>Size above which an add first sweeps out the entries already revealed.</summary>
    public const int PruneAbove = 4096;

    private readonly ConcurrentDictionary<string, long> _revealAt = new(StringComparer.Ordinal);

    /// <summary>Prompts waiting for their reveal (and revealed ones not yet swept).</summary>
    public int Count => _revealAt.Count;

    /// <summary>Records that <paramref name="promptId"/> is shown at <paramref name="revealAtMs"/>; nothing when that has passed.</summary>
    public void Add(string promptId, long revealAtMs, long now)
    {
        if (revealAtMs <= now)
        {
            return;
        }

        if (_revealAt.Count >= PruneAbove)
        {
            foreach (KeyValuePair<string, long> entry in _revealAt)
            {
                if (entry.Value <= now)
                {
                    _revealAt.TryRemove(entry);
                }
            }
        }

        _revealAt[promptId] = revealAtMs;
    }

    /// <summary>True while <paramref name="promptId"/> is known and its reveal instant is after <paramref name="now"/>.</summary>
    public bool IsEarly(string promptId, long now)
    {
        if (_revealAt.IsEmpty || !_revealAt.TryGetValue(promptId, out long revealAt))
        {
            return false;
        }

        if (now < revealAt)
        {
            return true;
        }

        _revealAt.TryRemove(new KeyValuePair<string, long>(promptId, revealAt));
        return false;
    }
}
