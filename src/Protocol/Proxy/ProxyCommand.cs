namespace Gateway.Protocol.Proxy;

/// <summary>The PROXY protocol command (v2: the low nibble of the 13th byte; v1 lines are always <see cref="Proxy"/>).</summary>
public enum ProxyCommand : byte
{
    /// <summary>The balancer's own connection (a health check): the real endpoints stand, the address block is ignored.</summary>
    Local = 0,

    /// <summary>Relayed on behalf of a client: the header carries the client's endpoints.</summary>
    Proxy = 1,
}
