using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.SocketIO;

namespace Gateway.Events;

/// <summary>
/// The one place a socket joins and leaves channels (handshake auth, <c>subscribe</c>, <c>unsubscribe</c>, recovery,
/// leaving a namespace): the socket's channel list and the registry's member counts change together, so a name is
/// freed exactly when its last socket leaves. Applies the per-socket limits (<c>MaxChannelsPerSocket</c>,
/// <c>Channels:NewPerSocket</c>, the viewer token's <c>channels</c> claim); the registry applies the gateway-wide ones. Every refusal is counted by reason.
/// Called under the owning session's lock.
/// </summary>
internal sealed class ChannelMembership(GatewayOptions options, ChannelRegistry registry, GatewayMetrics metrics)
{
    /// <summary>
    /// Joins every one of <paramref name="names"/> the socket is not in yet, or none (the refusal says why, and is
    /// counted). The ids joined are added to <paramref name="joined"/> when given.
    /// </summary>
    public ChannelRefusal Join(NamespaceSocket socket, List<string> names, List<long>? joined)
    {
        var wanted = new List<string>(names.Count);
        foreach (string name in names)
        {
            if (!ChannelRegistry.IsValidName(name))
            {
                return Refuse(ChannelRefusal.InvalidName);
            }

            if (!socket.MayJoin(name))
            {
                return Refuse(ChannelRefusal.NotAllowed);
            }

            if (!socket.TryGetChannel(name, out _) && !wanted.Contains(name, StringComparer.Ordinal))
            {
                wanted.Add(name);
            }
        }

        if (wanted.Count == 0)
        {
            return ChannelRefusal.None;
        }

        if (socket.ChannelCount + wanted.Count > options.MaxChannelsPerSocket)
        {
            return Refuse(ChannelRefusal.TooManyChannels);
        }

        // Bounded by MaxChannelsPerSocket (checked above).
        long[] ids = new long[wanted.Count];
        ChannelRefusal refusal = registry.TryJoin(wanted, options.Channels.NewPerSocket - socket.ChannelsCreated, ids, out int created);
        if (refusal != ChannelRefusal.None)
        {
            return Refuse(refusal);
        }

        socket.ChannelsCreated += created;
        for (int i = 0; i < wanted.Count; i++)
        {
            socket.AddChannel(ids[i], wanted[i], options.MaxChannelsPerSocket);
            joined?.Add(ids[i]);
        }

        return ChannelRefusal.None;
    }

    /// <summary>A recovered socket's channels: each one it can still join (a refused one is counted and skipped).</summary>
    public void JoinEach(NamespaceSocket socket, List<string> names)
    {
        foreach (string name in names)
        {
            Join(socket, [name], joined: null);
        }
    }

    /// <summary>Leaves those of <paramref name="names"/> the socket is in.</summary>
    public void Leave(NamespaceSocket socket, List<string> names)
    {
        foreach (string name in names)
        {
            if (socket.TryGetChannel(name, out long id))
            {
                socket.RemoveChannel(id);
                registry.Leave(name);
            }
        }
    }

    /// <summary>The socket leaves its namespace (or its session ends): it leaves every channel.</summary>
    public void LeaveAll(NamespaceSocket socket)
    {
        while (socket.ChannelCount > 0)
        {
            string name = socket.ChannelNames[^1];
            socket.RemoveChannel(socket.ChannelIds[^1]);
            registry.Leave(name);
        }
    }

    /// <summary>Counts a refusal decided by the caller (a handshake's channel list of the wrong shape or size).</summary>
    public ChannelRefusal Refuse(ChannelRefusal refusal)
    {
        metrics.ChannelRefused((int)refusal);
        return refusal;
    }
}
