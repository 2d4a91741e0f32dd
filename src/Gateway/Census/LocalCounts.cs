using Gateway.Broadcast;
using Gateway.Configuration;
using Microsoft.Extensions.Options;

namespace Gateway.Census;

/// <summary>
/// This gateway's counts now: what it publishes with its heartbeat and what an embedded region consists of. Depends on
/// no port (the Redis heartbeat that uses it is itself a dependency of the recovery port).
/// </summary>
internal sealed class LocalCounts(BroadcastContext context, IOptions<GatewayOptions> options)
{
    public int TopChannels => options.Value.Stats.TopChannels;

    /// <summary>The counts now; <paramref name="ready"/> as the caller knows it (a stopping gateway takes its counts out of the region).</summary>
    public InstanceCounts Take(string instance, bool ready, long nowMs, string? advertise = null)
    {
        var byNamespace = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < context.NamespaceNames.Length; i++)
        {
            byNamespace[context.NamespaceNames[i]] = context.Metrics.NamespaceSockets(i);
        }

        var byChannel = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach ((string name, long count) in context.Channels.Top(TopChannels))
        {
            byChannel[name] = count;
        }

        return new InstanceCounts(instance, ready, nowMs, context.Metrics.Connections, byNamespace, byChannel, advertise);
    }
}
