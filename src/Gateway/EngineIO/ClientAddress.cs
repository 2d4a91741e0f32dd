using System.Net;

namespace Gateway.EngineIO;

/// <summary>One client address with connections or polling sessions, counted for <c>MaxConnectionsPerIp</c>.</summary>
internal sealed class ClientAddress(IPAddress address)
{
    public IPAddress Address { get; } = address;

    /// <summary>Connections and polling sessions holding this address (under the admission's lock).</summary>
    public int Count;
}
