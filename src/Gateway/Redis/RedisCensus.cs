using System.Text.Json;
using Gateway.Census;
using StackExchange.Redis;

namespace Gateway.Redis;

/// <summary>
/// Redis mode's <see cref="IRegionCensus"/>: the region hash each gateway writes its counts into with its heartbeat
/// (<see cref="RegionLiveness"/>). One <c>HGETALL</c> per read; a gateway silent for <see cref="ForgetAfterMs"/> is
/// deleted from the hash by whoever reads it.
/// </summary>
internal sealed class RedisCensus(RegionConnection connection, LocalCounts counts) : IRegionCensus
{
    /// <summary>A gateway gone this long (ms) is no longer listed.</summary>
    public const long ForgetAfterMs = 60_000;

    public async Task<RegionCounts?> ReadAsync(CancellationToken cancellationToken)
    {
        if (connection.Connection is not { } redis)
        {
            return null;
        }

        IDatabase db = redis.GetDatabase();
        RedisKey key = connection.Options.Redis.RegionKey;
        HashEntry[] entries;
        try
        {
            entries = await db.HashGetAllAsync(key).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return null;
        }

        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var instances = new List<InstanceCounts>(entries.Length);
        var gone = new List<RedisValue>();
        foreach (HashEntry entry in entries)
        {
            InstanceCounts? instance = null;
            try
            {
                instance = JsonSerializer.Deserialize<InstanceCounts>(entry.Value.ToString(), RegionLiveness.CountsJson);
            }
            catch (JsonException)
            {
            }

            if (instance is null || instance.ByNamespace is null || instance.ByChannel is null || now - instance.At > ForgetAfterMs)
            {
                gone.Add(entry.Name);
                continue;
            }

            instances.Add(instance);
        }

        if (gone.Count > 0)
        {
            // Housekeeping: its failure does not fail the read.
            _ = db.HashDeleteAsync(key, gone.ToArray(), CommandFlags.FireAndForget);
        }

        return new RegionCounts(instances, now, counts.TopChannels);
    }
}
