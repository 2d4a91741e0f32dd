namespace Gateway.Region;

/// <summary>Another gateway of the region: its instance id and the <c>host:port</c> of its public port (<c>Gateway:Region:Advertise</c>).</summary>
internal sealed record RegionPeer(string Instance, string Advertise);
