namespace Gateway.Broadcast;

/// <summary>
/// How many sockets are in each channel (by <see cref="ChannelRegistry"/> id), for the stats' top channels. Counted on
/// join and leave, never walked per message.
/// </summary>
/// <remarks>
/// Thread-safe: counts change with <see cref="Interlocked"/>; counts live in chunks created once and never moved, so
/// an increment never lands in an array that a resize left behind.
/// </remarks>
internal sealed class ChannelMembers
{
    private const int ChunkShift = 10;
    private const int ChunkSize = 1 << ChunkShift;

    private readonly int[]?[] _counts;
    private readonly string?[]?[] _names;
    private readonly Lock _growLock = new();
    private int _highest = -1;

    /// <param name="maxChannels">Channel ids counted: those of a <see cref="ChannelRegistry"/> of that bound (1,000,000 by default, as its own).</param>
    public ChannelMembers(int maxChannels = 1_000_000)
    {
        int chunks = (maxChannels + ChunkSize - 1) >> ChunkShift;
        _counts = new int[]?[chunks];
        _names = new string?[]?[chunks];
    }

    /// <summary>A socket joined channel <paramref name="channelId"/> (named <paramref name="name"/>).</summary>
    public void Joined(int channelId, string name)
    {
        if ((uint)channelId >= (uint)(_counts.Length << ChunkShift))
        {
            return;
        }

        int chunk = channelId >> ChunkShift;
        if (_counts[chunk] is null)
        {
            lock (_growLock)
            {
                if (_counts[chunk] is null)
                {
                    _names[chunk] = new string?[ChunkSize];
                    Volatile.Write(ref _counts[chunk], new int[ChunkSize]);
                }
            }
        }

        _names[chunk]![channelId & (ChunkSize - 1)] ??= name;
        Interlocked.Increment(ref _counts[chunk]![channelId & (ChunkSize - 1)]);
        int highest;
        while (channelId > (highest = Volatile.Read(ref _highest)) && Interlocked.CompareExchange(ref _highest, channelId, highest) != highest)
        {
        }
    }

    /// <summary>A socket left channel <paramref name="channelId"/> (it had joined it).</summary>
    public void Left(int channelId)
    {
        int[]? counts = (uint)channelId < (uint)(_counts.Length << ChunkShift) ? Volatile.Read(ref _counts[channelId >> ChunkShift]) : null;
        if (counts is not null)
        {
            Interlocked.Decrement(ref counts[channelId & (ChunkSize - 1)]);
        }
    }

    /// <summary>The sockets in channel <paramref name="channelId"/>.</summary>
    public int Count(int channelId)
    {
        int[]? counts = (uint)channelId < (uint)(_counts.Length << ChunkShift) ? Volatile.Read(ref _counts[channelId >> ChunkShift]) : null;
        return counts is null ? 0 : Volatile.Read(ref counts[channelId & (ChunkSize - 1)]);
    }

    /// <summary>The <paramref name="n"/> channels with the most sockets (none empty), largest first.</summary>
    public List<KeyValuePair<string, long>> Top(int n)
    {
        var smallest = new PriorityQueue<string, int>(n + 1);
        int highest = Volatile.Read(ref _highest);
        for (int id = 0; id <= highest && n > 0; id++)
        {
            int[]? counts = Volatile.Read(ref _counts[id >> ChunkShift]);
            if (counts is null)
            {
                id |= ChunkSize - 1; // an empty chunk: on to the next
                continue;
            }

            int count = Volatile.Read(ref counts[id & (ChunkSize - 1)]);
            if (count <= 0)
            {
                continue;
            }

            smallest.Enqueue(_names[id >> ChunkShift]![id & (ChunkSize - 1)]!, count);
            if (smallest.Count > n)
            {
                smallest.Dequeue();
            }
        }

        var top = new List<KeyValuePair<string, long>>(smallest.Count);
        while (smallest.TryDequeue(out string? name, out int count))
        {
            top.Add(new(name, count));
        }

        top.Reverse();
        return top;
    }
}
