using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.Prompts;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Census;

/// <summary>This gateway's counts now: what it publishes with its heartbeat and what an embedded region consists of.</summary>
internal sealed class LocalCounts(BroadcastContext context, IPromptSource prompts, IOptions<GatewayOptions> options, IHostApplicationLifetime lifetime)
{
    public int TopChannels => options.Value.Stats.TopChannels;

    /// <summary>Ready as <c>/readyz</c> says: not stopping, and the prompt source ready.</summary>
    public bool Ready => !lifetime.ApplicationStopping.IsCancellationRequested && prompts.NotReadyReason is null;

    public InstanceCounts Take(string instance, long nowMs)
    {
        var byNamespace = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < context.NamespaceNames.Length; i++)
        {
            byNamespace[context.NamespaceNames[i]] = context.Metrics.NamespaceSockets(i);
        }

        var byChannel = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach ((string name, long count) in context.ChannelMembers.Top(TopChannels))
        {
            byChannel[name] = count;
        }

        return new InstanceCounts(instance, Ready, nowMs, context.Metrics.Connections, byNamespace, byChannel);
    }
}
