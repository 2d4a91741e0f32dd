using System.Diagnostics;
using System.Text.Json;
using Gateway.Tests.EndToEnd;

namespace Gateway.Tests.Redis;

/// <summary>
/// The prompt lifecycle in Redis mode: a stream entry's record carries its stream id and read lag (entry time → ring),
/// a timed one its reveal instant, and the read lag histogram in <c>/metrics</c> counts each entry.
/// </summary>
[Trait("Category", "Redis")]
public sealed class PromptLifecycleRedisTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private RedisRegion? _region;
    private RegionClient? _client;

    public async Task InitializeAsync()
    {
        _region = await RedisRegion.StartAsync("eu", 1);
        _client = await RegionClient.StartAsync(TimeSpan.FromSeconds(100));
    }

    public async Task DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        if (_region is not null)
        {
            await _region.DisposeAsync();
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task StreamEntry_RecordHasStreamIdLagAndRecipients_TimedOneItsReveal_LagHistogramCounts()
    {
        ServerProcess gateway = _region!.Gateways[0];
        int[] sockets = await _client!.ConnectAsync(gateway.Url, 3, "lifecycle");
        long lagCountBefore = LagCount(await gateway.Admin.GetStringAsync("/metrics"));

        string id = "redis-" + Guid.NewGuid().ToString("N");
        string streamId = await _region.PublishAsync(id, "[{\"q\":1}]");
        JsonElement record = await WaitForCompleteAsync(gateway, id);
        Assert.Equal(streamId, record.GetProperty("streamId").GetString());
        Assert.Equal(3, record.GetProperty("recipients").GetInt32());
        Assert.True(record.GetProperty("streamLagMs").GetInt64() >= 0, record.GetRawText());
        Assert.Equal(JsonValueKind.Null, record.GetProperty("revealAt").ValueKind);

        long revealAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1500;
        string timed = "timed-" + Guid.NewGuid().ToString("N");
        await _region.PublishAsync(timed, "[{\"q\":2}]", revealAt);
        JsonElement timedRecord = await WaitForCompleteAsync(gateway, timed);
        Assert.Equal(revealAt, timedRecord.GetProperty("revealAt").GetInt64());
        Assert.True(timedRecord.GetProperty("publishedAt").GetInt64() >= revealAt, timedRecord.GetRawText());
        (bool done, string counts) = await _client.WaitForEventsAsync(sockets, 2, Deadline);
        Assert.True(done, counts);

        var clock = Stopwatch.StartNew();
        while (LagCount(await gateway.Admin.GetStringAsync("/metrics")) < lagCountBefore + 2)
        {
            Assert.True(clock.Elapsed < Deadline, "gateway_stream_lag_seconds_count did not count both entries");
            await Task.Delay(100);
        }

        // The lifecycle log line names the stream entry too.
        Assert.Contains(gateway.StandardOutputLines, l => l.Contains($"\"PromptId\":\"{id}\"", StringComparison.Ordinal) && l.Contains($"\"StreamId\":\"{streamId}\"", StringComparison.Ordinal));
        await _client.DisconnectAsync();
    }

    private static long LagCount(string metrics) => metrics.Split('\n')
        .Where(l => l.StartsWith("gateway_stream_lag_seconds_count", StringComparison.Ordinal))
        .Select(l => long.Parse(l[(l.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture))
        .DefaultIfEmpty(0).Sum();

    private static async Task<JsonElement> WaitForCompleteAsync(ServerProcess gateway, string id)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using JsonDocument doc = JsonDocument.Parse(await gateway.Admin.GetStringAsync("/v1/prompts"));
            foreach (JsonElement prompt in doc.RootElement.GetProperty("prompts").EnumerateArray())
            {
                if (prompt.GetProperty("id").GetString() == id && prompt.GetProperty("complete").GetBoolean())
                {
                    return prompt.Clone();
                }
            }

            Assert.True(clock.Elapsed < Deadline, $"prompt {id} not complete in /v1/prompts: {doc.RootElement.GetRawText()}");
            await Task.Delay(50);
        }
    }
}
