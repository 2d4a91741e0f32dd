using Gateway.Prompts;

namespace Gateway.Census;

/// <summary>Embedded mode: the region is this gateway.</summary>
internal sealed class LocalCensus(LocalCounts counts, IPromptSource prompts, TimeProvider time) : IRegionCensus
{
    public const string Instance = "local";

    public Task<RegionCounts?> ReadAsync(CancellationToken cancellationToken)
    {
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return Task.FromResult<RegionCounts?>(new RegionCounts([counts.Take(Instance, prompts.NotReadyReason is null, now)], now, counts.TopChannels));
    }
}
