using System.Buffers.Text;
using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Net;
using Gateway.Census;
using Gateway.Configuration;
using Gateway.Region;

namespace Gateway.Redis;

/// <summary>
/// Redis mode's <see cref="IRegionPeers"/>: the live gateways of the region and their advertised addresses, as the
/// region hash lists them (refreshed by <see cref="RegionLiveness"/> with every heartbeat), and MACs keyed with the
/// region's secret (the one pids are signed with).
/// </summary>
internal sealed class RedisRegionPeers(PidSigner signer) : IRegionPeers
{
    private const int MacBytes = 16;

    private volatile FrozenDictionary<string, RegionPeer> _peers = FrozenDictionary<string, RegionPeer>.Empty;
    private volatile FrozenSet<IPAddress> _peerAddresses = FrozenSet<IPAddress>.Empty;

    public string? LocalInstance => signer.InstanceId;

    public RegionPeer? Find(ReadOnlySpan<char> instance) =>
        _peers.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(instance, out RegionPeer? peer) ? peer : null;

    /// <summary>The region's gateways as their last heartbeats tell: the live ones (but this one) that advertise an address.</summary>
    public void Update(RegionCounts region)
    {
        var peers = new Dictionary<string, RegionPeer>(StringComparer.Ordinal);
        foreach (InstanceCounts instance in region.Instances)
        {
            if (instance.Instance != signer.InstanceId && instance.Advertise is { Length: > 0 } advertise && region.IsAlive(instance))
            {
                peers[instance.Instance] = new RegionPeer(instance.Instance, advertise);
            }
        }

        // Addresses first: once a peer is found, its connections are known as a peer's too.
        _peerAddresses = peers.Values
            .Select(p => GatewayOptions.TryParseHostPort(p.Advertise, out string host, out _) && IPAddress.TryParse(host, out IPAddress? ip) ? ip : null)
            .OfType<IPAddress>()
            .ToFrozenSet();
        _peers = peers.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public bool IsPeerAddress(IPAddress address) => _peerAddresses.Contains(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    public string? Sign(string operation, string sid) => signer.Secret is { } secret ? Mac(secret, operation, sid) : null;

    public bool Verify(string operation, string sid, ReadOnlySpan<byte> mac)
    {
        if (signer.Secret is not { } secret)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Mac(secret, operation, sid)), mac);
    }

    private static string Mac(byte[] secret, string operation, string sid)
    {
        Span<byte> hash = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes("gateway-region\n" + operation + "\n" + sid), hash);
        return Base64Url.EncodeToString(hash.Slice(0, MacBytes));
    }
}
