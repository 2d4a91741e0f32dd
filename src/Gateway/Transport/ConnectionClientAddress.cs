using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Gateway.Transport;

/// <summary>The client behind a public-port connection, for per-address limits and logs.</summary>
internal static class ConnectionClientAddress
{
    extension(ConnectionContext connection)
    {
        /// <summary>
        /// The client's address: with <c>Gateway:ProxyProtocol</c>, the one the balancer's PROXY header named (the
        /// handler puts it into <see cref="BaseConnectionContext.RemoteEndPoint"/> before the first request is read);
        /// otherwise — or for a LOCAL/UNKNOWN header — the socket's peer. A dual-stack socket reports IPv4 peers as
        /// ::ffff:a.b.c.d: one client, one key.
        /// </summary>
        public IPAddress? ClientAddress =>
            (connection.RemoteEndPoint as IPEndPoint)?.Address is { IsIPv4MappedToIPv6: true } mapped
                ? mapped.MapToIPv4()
                : (connection.RemoteEndPoint as IPEndPoint)?.Address;
    }
}
