namespace Gateway.Census;

/// <summary>The region's gateways and their totals.</summary>
internal sealed class RegionCounts(IReadOnlyList<InstanceCounts> instances, long nowMs, int topChannels)
{
    /// <summary>A gateway whose last heartbeat is older than this (ms) is listed as not alive and left out of the totals.</summary>
    public const long StaleAfterMs = 5_000;

    /// <summary>Every gateway known, by instance id.</summary>
    public IReadOnlyList<InstanceCounts> Instances { get; } = instances.OrderBy(i => i.Instance, StringComparer.Ordinal).ToArray();

    public long NowMs { get; } = nowMs;

    public bool IsAlive(InstanceCounts instance) => NowMs - instance.At <= StaleAfterMs;

    /// <summary>The totals of the live gateways: <c>{instances, connections, byNamespace, byChannel}</c>.</summary>
    public object Totals()
    {
        var byNamespace = new Dictionary<string, long>(StringComparer.Ordinal);
        var byChannel = new Dictionary<string, long>(StringComparer.Ordinal);
        long connections = 0;
        int alive = 0;
        foreach (InstanceCounts instance in Instances.Where(IsAlive))
        {
            alive++;
            connections += instance.Connections;
            Add(byNamespace, instance.ByNamespace);
            Add(byChannel, instance.ByChannel);
        }

        // Each gateway lists its own largest channels: the region's are the largest of their sums.
        Dictionary<string, long> top = byChannel.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal)
            .Take(topChannels).ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
        return new { instances = alive, connections, byNamespace, byChannel = top };
    }

    private static void Add(Dictionary<string, long> into, Dictionary<string, long> counts)
    {
        foreach ((string key, long value) in counts)
        {
            into[key] = into.GetValueOrDefault(key) + value;
        }
    }
}
