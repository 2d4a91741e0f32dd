namespace Gateway.Census;

/// <summary>
/// The counts of every gateway of the region (<c>/v1/stats</c>' <c>region</c>, <c>/v1/region</c>). Embedded: the region
/// is this gateway (<see cref="LocalCensus"/>). Redis mode: what each gateway wrote with its last heartbeat.
/// </summary>
internal interface IRegionCensus
{
    /// <summary>
    /// Every gateway known, this one included, each with its last counts; those whose heartbeat is older than
    /// <see cref="RegionCounts.StaleAfterMs"/> are listed but not counted. Null when the region's store cannot be read
    /// (Redis away).
    /// </summary>
    Task<RegionCounts?> ReadAsync(CancellationToken cancellationToken);
}
