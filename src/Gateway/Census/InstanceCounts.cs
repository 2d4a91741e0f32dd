namespace Gateway.Census;

/// <summary>
/// One gateway's counts as the region sees them (written with its heartbeat in Redis mode): its sockets, by namespace,
/// its largest channels, whether it is ready, and when it last said so.
/// </summary>
/// <param name="Instance">The gateway's instance id.</param>
/// <param name="Ready">Its <c>/readyz</c>: serving, the region's Redis reachable, not stopping.</param>
/// <param name="At">When these counts were taken (its heartbeat), ms since the Unix epoch.</param>
/// <param name="Connections">Open Engine.IO sessions.</param>
/// <param name="ByNamespace">Sockets per namespace.</param>
/// <param name="ByChannel">Sockets per channel, its <c>Gateway:Stats:TopChannels</c> largest.</param>
/// <param name="Advertise">Where the other gateways reach its public port (<c>Gateway:Region:Advertise</c>); null when alone.</param>
internal sealed record InstanceCounts(string Instance, bool Ready, long At, long Connections, Dictionary<string, long> ByNamespace, Dictionary<string, long> ByChannel, string? Advertise = null);
