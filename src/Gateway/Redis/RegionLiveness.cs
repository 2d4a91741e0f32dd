using System.Security.Cryptography;
using System.Text.Json;
using Gateway.Census;
using Gateway.Region;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace Gateway.Redis;

/// <summary>
/// Every 250 ms: "this instance is alive at T" (expiring after MaxDisconnection), its counts (a field of the region
/// hash <c>Gateway:Redis:RegionKey</c>, read by <see cref="RedisCensus"/>), and the region's pid-signing secret
/// (created once by whichever gateway comes first). A gateway that crashes writes no session records; its last
/// heartbeat tells the others when its sockets were cut off. A gateway that stops takes its counts out. Each beat
/// also reads the region hash back: the other gateways' addresses (<see cref="RedisRegionPeers"/>).
/// </summary>
internal sealed class RegionLiveness(RegionConnection connection, PidSigner signer, LocalCounts counts, AdvertisedAddress advertised, RedisRegionPeers peers, RedisCensus census) : BackgroundService
{
    /// <summary>How an instance's counts are written in the region hash (camelCase JSON of <see cref="InstanceCounts"/>).</summary>
    public static readonly JsonSerializerOptions CountsJson = new(JsonSerializerDefaults.Web);

    /// <summary>Instance heartbeat period; a recovery waits up to 4 of them to tell a crashed instance from a live one.</summary>
    public const int HeartbeatMs = 250;

    private string InstanceKey(string instance) => connection.SessionPrefix + "instance:" + instance;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (await connection.ConnectedOrStoppedAsync(stoppingToken).ConfigureAwait(false) is not { } redis)
        {
            return;
        }

        IDatabase db = redis.GetDatabase();
        var expiry = TimeSpan.FromMilliseconds(connection.Options.Recovery.MaxDisconnection + 5000);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (signer.Secret is null)
                {
                    RedisKey secretKey = connection.SessionPrefix + "secret";
                    await db.StringSetAsync(secretKey, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), when: When.NotExists).ConfigureAwait(false);
                    string? secret = await db.StringGetAsync(secretKey).ConfigureAwait(false);
                    signer.Secret = secret is null ? null : Convert.FromBase64String(secret);
                }

                long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                string json = JsonSerializer.Serialize(counts.Take(signer.InstanceId, connection.NotReadyReason is null, now, advertised.Value), CountsJson);
                // Issued together: one round trip for both.
                Task alive = db.StringSetAsync(InstanceKey(signer.InstanceId), now, expiry);
                Task published = db.HashSetAsync(connection.Options.Redis.RegionKey, signer.InstanceId, json);
                await Task.WhenAll(alive, published).ConfigureAwait(false);
                if (await census.ReadAsync(CancellationToken.None).ConfigureAwait(false) is { } region)
                {
                    peers.Update(region);
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException or FormatException)
            {
            }

            try
            {
                await Task.Delay(HeartbeatMs, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        try
        {
            // Stopping: out of the region's counts at once, not after it goes stale.
            await db.HashDeleteAsync(connection.Options.Redis.RegionKey, signer.InstanceId).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
        }
    }

    /// <summary>When the instance was last alive (ms), 0 when it has been gone longer than its key lives, -1 alive now.</summary>
    public async Task<long> InstanceLastSeenAsync(IDatabase db, string instance)
    {
        RedisValue value = await db.StringGetAsync(InstanceKey(instance)).ConfigureAwait(false);
        if (value.IsNull || !value.TryParse(out long lastSeen))
        {
            return 0;
        }

        // Four missed heartbeats mean the process is gone.
        return instance != signer.InstanceId && DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - lastSeen > 4 * HeartbeatMs ? lastSeen : -1;
    }
}
