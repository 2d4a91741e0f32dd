using System.Collections.Concurrent;

namespace Gateway.Broadcast;

/// <summary>
/// Maps channel names to small integer ids, so membership checks on the fan-out path compare ints. Ids are never
/// reused; the registry is bounded so clients cannot grow it without limit.
/// </summary>
internal sealed class ChannelRegistry
{
    public const int MaxChannelNameLength = 128;

    private readonly ConcurrentDictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly int _maxChannels;
    private int _next;

    public ChannelRegistry(int maxChannels = 1_000_000)
    {
        _maxChannels = maxChannels;
    }

    public int Count => _ids.Count;

    /// <summary>The id of a channel, creating it when there is room; -1 when the name is invalid or the registry is full.</summary>
    public int GetOrAdd(string name)
    {
        if (name.Length == 0 || name.Length > MaxChannelNameLength)
        {
            return -1;
        }

        if (_ids.TryGetValue(name, out int id))
        {
            return id;
        }

        if (_ids.Count >= _maxChannels)
        {
            return -1;
        }

        return _ids.GetOrAdd(name, static (_, self) => Interlocked.Increment(ref self._next) - 1, this);
    }

    /// <summary>The id of a known channel, or -1 (a publish to an unknown channel reaches nobody).</summary>
    public int Find(string name) => _ids.TryGetValue(name, out int id) ? id : -1;
}
