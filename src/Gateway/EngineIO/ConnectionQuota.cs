namespace Gateway.EngineIO;

/// <summary>What admission keeps per TCP connection (a field of the connection: no allocation of its own).</summary>
internal struct ConnectionQuota
{
    /// <summary>1 while the connection counts against the descriptors (every accepted connection, until it ends).</summary>
    public int HoldsDescriptor;

    /// <summary>The client address this connection is counted under, when the per-address cap is on.</summary>
    public ClientAddress? Address;

    public long HandshakeWindowStart;

    public int Handshakes;
}
