using System.Text.Json;
using Gateway.Streams;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Identity;
using StackExchange.Redis;

namespace Gateway.Tests.Redis;

/// <summary>
/// Issue 11 end to end: viewer identity (a JWT in the CONNECT auth), one answer per viewer and prompt region-wide,
/// the answer window, and the region's counts — two gateway processes on one real redis-server, stock
/// socket.io-client 4.8 sockets (tests/node/region-client.mjs).
/// </summary>
[Trait("Category", "Redis")]
public sealed class ViewerIdentityTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private RedisRegion? _region;
    private RegionClient? _client;

    public Task InitializeAsync() => Task.CompletedTask;

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

    private static object Auth(string token, params string[] channels) => channels.Length == 0 ? new { token } : new { token, channels };

    [Fact(Timeout = 120_000)]
    public async Task SameViewerOnTwoGateways_AnswersOnce_ClosedAfterTheWindow_BadTokensUnauthorized_RegionCountsBoth()
    {
        _region = await RedisRegion.StartAsync("eu", 2,
            $"--Gateway:Auth:Jwt:Secret={TestTokens.Secret}", $"--Gateway:Auth:Jwt:Issuer={TestTokens.Issuer}",
            $"--Gateway:Auth:Jwt:Audience={TestTokens.Audience}");
        ServerProcess a = _region.Gateways[0], b = _region.Gateways[1];
        _client = await RegionClient.StartAsync(TimeSpan.FromSeconds(110));
        string viewer = "viewer-" + Guid.NewGuid().ToString("N")[..8];
        string token = TestTokens.Create(TestTokens.Hs256(), viewer, channels: ["show-1"]);

        // The same viewer (same sub) in two tabs, on two gateways.
        int[] tabA = await _client.ConnectAsync(a.Url, 1, "a", Auth(token, "show-1"));
        int[] tabB = await _client.ConnectAsync(b.Url, 1, "b", Auth(token));

        // Tokens that must not connect: CONNECT_ERROR {"message":"unauthorized"}.
        foreach ((string what, string? bad) in new (string, string?)[]
        {
            ("expired", TestTokens.Create(TestTokens.Hs256(), viewer, lifetime: TimeSpan.FromMinutes(-5))),
            ("bad signature", TestTokens.Create(TestTokens.Hs256("another-secret-of-at-least-32-bytes-long!!"), viewer)),
            ("wrong audience", TestTokens.Create(TestTokens.Hs256(), viewer, audience: "someone-else")),
            ("no token", null),
        })
        {
            string error = await _client.ConnectRefusedAsync(a.Url, bad is null ? new { channels = new[] { "show-1" } } : Auth(bad));
            Assert.True(error == "unauthorized", $"{what}: expected connect_error 'unauthorized', got '{error}'");
        }

        // The channels claim: a handshake or a subscribe outside it is refused; inside it works.
        Assert.Equal("Channel not allowed", await _client.ConnectRefusedAsync(a.Url, Auth(token, "show-2")));
        AnswerResult refused = (await _client.EmitAsync(tabB, "subscribe", "show-2"))[0];
        Assert.Equal("{\"ok\":false,\"error\":\"channel not allowed\"}", refused.Ack?[0].GetRawText());
        AnswerResult allowed = (await _client.EmitAsync(tabB, "subscribe", "show-1"))[0];
        Assert.Equal("{\"ok\":true,\"channels\":[\"show-1\"]}", allowed.Ack?[0].GetRawText());

        // One prompt, answered from both tabs at once: one stored, one duplicate, one entry in the answers stream.
        string promptId = "q-" + Guid.NewGuid().ToString("N")[..8];
        await _region.PublishAsync(promptId, $"[{{\"tag\":\"{promptId}\"}}]");
        (bool done, string counts) = await _client.WaitForEventsAsync(tabA.Concat(tabB).ToArray(), 1, Deadline, tag: promptId);
        Assert.True(done, $"the prompt did not reach both tabs: {counts}");
        AnswerResult[] answers = await _client.AnswerAsync(tabA.Concat(tabB).ToArray(), promptId, 2, timeoutMs: 10_000);
        string[] acks = answers.Select(r => r.Ack is { Length: 1 } ack ? ack[0].GetRawText() : $"none ({r.Error})").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["{\"ok\":false,\"error\":\"duplicate\"}", "{\"ok\":true}"], acks);

        IDatabase db = await _region.DatabaseAsync();
        StreamEntry[] entries = (await db.StreamRangeAsync(RedisRegion.AnswersKey, "-", "+")).Where(e => e["prompt_id"] == promptId).ToArray();
        StreamEntry entry = Assert.Single(entries);
        Assert.Equal(viewer, entry["viewer"].ToString());
        string storedSid = answers.Single(r => r.Ack![0].GetRawText() == "{\"ok\":true}").Id!;
        Assert.Equal(storedSid, entry["sid"].ToString());

        // A reconnect of the same viewer (a new socket on gateway B) is still the same viewer.
        int[] again = await _client.ConnectAsync(b.Url, 1, "again", Auth(token));
        AnswerResult third = (await _client.AnswerAsync(again, promptId, 3))[0];
        Assert.Equal("{\"ok\":false,\"error\":\"duplicate\"}", third.Ack?[0].GetRawText());

        // The answer window: a prompt whose answer_until has passed is closed on every gateway.
        string closedId = "q-closed-" + Guid.NewGuid().ToString("N")[..8];
        long until = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1;
        await _region.Prompts.PublishAsync(await _region.BackendAsync(),
            new PromptEntry(closedId, "/", null, "prompt", $"[{{\"tag\":\"{closedId}\"}}]", AnswerUntilMs: until));
        (done, counts) = await _client.WaitForEventsAsync(tabA.Concat(tabB).ToArray(), 1, Deadline, tag: closedId);
        Assert.True(done, $"the windowed prompt did not reach both tabs: {counts}");
        AnswerResult[] late = await _client.AnswerAsync(tabA.Concat(tabB).ToArray(), closedId, 1);
        Assert.All(late, r => Assert.Equal("{\"ok\":false,\"error\":\"closed\"}", r.Ack?[0].GetRawText()));

        // Sentinel for "not in the stream": a fresh prompt answered and acked after the refused ones.
        string markerId = "q-marker-" + Guid.NewGuid().ToString("N")[..8];
        AnswerResult marker = (await _client.AnswerAsync(tabA, markerId, 1))[0];
        Assert.Equal("{\"ok\":true}", marker.Ack?[0].GetRawText());
        StreamEntry[] all = await db.StreamRangeAsync(RedisRegion.AnswersKey, "-", "+");
        Assert.Equal([promptId, markerId], all.Select(e => e["prompt_id"].ToString()));

        // The region's counts on either gateway: A has 1 + 5 refused handshakes' sessions (until they are closed), B 2.
        // Connected sockets per namespace are exact: A 1, B 2.
        await WaitForRegionAsync(a, region => region.GetProperty("instances").GetInt32() == 2 &&
                                               region.GetProperty("byNamespace").GetProperty("/").GetInt64() == 3 &&
                                               region.GetProperty("byChannel").TryGetProperty("show-1", out JsonElement members) && members.GetInt64() == 2);
        JsonElement list = await GetJsonAsync(b, "/v1/region");
        JsonElement[] instances = list.GetProperty("instances").EnumerateArray().ToArray();
        Assert.Equal(2, instances.Length);
        Assert.All(instances, i => Assert.True(i.GetProperty("ready").GetBoolean() && i.GetProperty("alive").GetBoolean(), i.GetRawText()));
        Assert.Equal([1L, 2L], instances.Select(i => i.GetProperty("byNamespace").GetProperty("/").GetInt64()).Order());
        // Where each gateway is reached by the others: its bound address (127.0.0.1) and public port.
        Assert.Equal(new[] { $"127.0.0.1:{a.Port}", $"127.0.0.1:{b.Port}" }.Order(), instances.Select(i => i.GetProperty("advertise").GetString()).Order());

        await _client.DisconnectAsync();
        await a.AssertNoConnectionsAsync();
        await b.AssertNoConnectionsAsync();
        await WaitForRegionAsync(b, region => region.GetProperty("connections").GetInt64() == 0);
    }

    private static async Task WaitForRegionAsync(ServerProcess gateway, Func<JsonElement, bool> condition) =>
        await RegionProcess.WaitForRegionCountsAsync(gateway.StatsAsync, gateway.Url, condition, Deadline);

    private static async Task<JsonElement> GetJsonAsync(ServerProcess gateway, string path)
    {
        using HttpResponseMessage response = await gateway.Admin.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode}");
        using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }
}
