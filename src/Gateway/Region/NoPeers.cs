using System.Net;

namespace Gateway.Region;

/// <summary>Embedded mode: the gateway is alone; its session ids carry no instance and nothing is forwarded.</summary>
internal sealed class NoPeers : IRegionPeers
{
    public static readonly NoPeers Instance = new();

    public string? LocalInstance => null;

    public RegionPeer? Find(ReadOnlySpan<char> instance) => null;

    public bool IsPeerAddress(IPAddress address) => false;

    public string? Sign(string operation, string sid) => null;

    public bool Verify(string operation, string sid, ReadOnlySpan<byte> mac) => false;
}
