using System.Net;

namespace Gateway.Region;

/// <summary>
/// The other gateways of the region, as a session's requests see them: a session id begins with the instance id of
/// the gateway that holds the session, so any gateway can tell where a request belongs and pass it there. Embedded:
/// the gateway is alone (<see cref="NoPeers"/>). Redis mode: every gateway writes where it can be reached with its
/// heartbeat, and requests between gateways carry a MAC keyed with the region's secret.
/// </summary>
/// <remarks>Thread-safe; every member is a lookup (no I/O).</remarks>
internal interface IRegionPeers
{
    /// <summary>This gateway's instance id, the prefix of the session ids it issues; null when it is alone.</summary>
    string? LocalInstance { get; }

    /// <summary>The live gateway of the region (not this one) whose instance id is <paramref name="instance"/>, or null.</summary>
    RegionPeer? Find(ReadOnlySpan<char> instance);

    /// <summary>Whether <paramref name="address"/> is where another gateway of the region connects from (its advertised address).</summary>
    bool IsPeerAddress(IPAddress address);

    /// <summary>The MAC of a gateway-to-gateway request (<paramref name="operation"/> on session <paramref name="sid"/>); null until the region's secret is known.</summary>
    string? Sign(string operation, string sid);

    /// <summary>Whether <paramref name="mac"/> is the region's MAC of <paramref name="operation"/> on <paramref name="sid"/>.</summary>
    bool Verify(string operation, string sid, ReadOnlySpan<byte> mac);
}
