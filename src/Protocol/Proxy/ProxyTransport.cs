namespace Gateway.Protocol.Proxy;

/// <summary>The transport a PROXY header announces (v2: the low nibble of the 14th byte; v1's TCP4/TCP6 are <see cref="Stream"/>).</summary>
public enum ProxyTransport : byte
{
    /// <summary>UNSPEC: the receiver ignores the address information.</summary>
    Unspecified = 0,
    Stream = 1,
    Datagram = 2,
}
