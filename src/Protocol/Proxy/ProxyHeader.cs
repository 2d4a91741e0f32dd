using System.Buffers.Binary;

namespace Gateway.Protocol.Proxy;

/// <summary>
/// A decoded PROXY protocol header (haproxy doc/proxy-protocol.txt, v1 text or v2 binary). Addresses are kept inline as
/// numbers in network order (the first address byte is the most significant), so a header costs no allocation.
/// </summary>
public readonly record struct ProxyHeader
{
    public ProxyHeader(
        int length,
        byte version,
        ProxyCommand command,
        ProxyAddressFamily family,
        ProxyTransport transport,
        UInt128 sourceAddress = default,
        UInt128 destinationAddress = default,
        ushort sourcePort = 0,
        ushort destinationPort = 0)
    {
        Length = length;
        Version = version;
        Command = command;
        Family = family;
        Transport = transport;
        SourceAddress = sourceAddress;
        DestinationAddress = destinationAddress;
        SourcePort = sourcePort;
        DestinationPort = destinationPort;
    }

    /// <summary>Bytes the header takes on the wire (v2: 16 + the length field, TLVs included).</summary>
    public int Length { get; }

    /// <summary>1 (text) or 2 (binary).</summary>
    public byte Version { get; }

    public ProxyCommand Command { get; }

    public ProxyAddressFamily Family { get; }

    public ProxyTransport Transport { get; }

    /// <summary>The client's address (IPv4 in the low 32 bits); meaningful only when <see cref="HasAddresses"/>.</summary>
    public UInt128 SourceAddress { get; }

    /// <summary>The address the client connected to (the balancer's listener).</summary>
    public UInt128 DestinationAddress { get; }

    public ushort SourcePort { get; }

    public ushort DestinationPort { get; }

    /// <summary>
    /// True when the header names the client: a relayed (PROXY) IPv4/IPv6 connection with a known transport. Otherwise
    /// (LOCAL, UNKNOWN, AF_UNSPEC, UNSPEC transport, AF_UNIX) the receiver uses the real connection's endpoints.
    /// </summary>
    public bool HasAddresses =>
        Command == ProxyCommand.Proxy && Family is ProxyAddressFamily.IPv4 or ProxyAddressFamily.IPv6 && Transport != ProxyTransport.Unspecified;

    /// <summary>4 for IPv4, 16 for IPv6, 0 otherwise.</summary>
    public int AddressLength => Family switch
    {
        ProxyAddressFamily.IPv4 => 4,
        ProxyAddressFamily.IPv6 => 16,
        _ => 0,
    };

    /// <summary>Writes the source address's bytes in network order; returns how many (<see cref="AddressLength"/>).</summary>
    public int CopySourceAddress(Span<byte> destination) => CopyAddress(SourceAddress, AddressLength, destination);

    /// <summary>Writes the destination address's bytes in network order; returns how many (<see cref="AddressLength"/>).</summary>
    public int CopyDestinationAddress(Span<byte> destination) => CopyAddress(DestinationAddress, AddressLength, destination);

    private static int CopyAddress(UInt128 address, int length, Span<byte> destination)
    {
        if (length == 4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)address);
        }
        else if (length == 16)
        {
            BinaryPrimitives.WriteUInt128BigEndian(destination, address);
        }

        return length;
    }
}
