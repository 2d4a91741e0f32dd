namespace Gateway.Protocol.Proxy;

/// <summary>The address family a PROXY header announces (v2: the high nibble of the 14th byte).</summary>
public enum ProxyAddressFamily : byte
{
    /// <summary>AF_UNSPEC, or v1's <c>UNKNOWN</c>: the receiver uses the real endpoints.</summary>
    Unspecified = 0,
    IPv4 = 1,
    IPv6 = 2,

    /// <summary>AF_UNIX: 108-byte paths, which say nothing about a client's network address.</summary>
    Unix = 3,
}
