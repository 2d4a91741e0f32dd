using System.Net;
using System.Text.Json;

namespace Gateway.Conformance.Tests;

/// <summary><c>GET /v1/prompts</c>: each prompt's fan-out on this instance, newest first.</summary>
[Collection(GatewayCollection.Name)]
public sealed class PromptLifecycleTests(GatewayServer server)
{
    [Fact]
    public async Task Prompts_AfterPublish_ListsTheRecordWithItsRecipients()
    {
        using RawClient member = await JoinAsync("{\"channels\":[\"show-9\"]}");
        using RawClient other = await JoinAsync("");
        long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        string id = "lifecycle-" + Guid.NewGuid().ToString("N");

        await PublishAsync($"{{\"channel\":\"show-9\",\"event\":\"question\",\"data\":[1],\"id\":\"{id}\"}}");
        Assert.Equal("42[\"question\",1]", (await member.ReadNonPingFrameAsync()).Text);
        await PublishAsync("{\"event\":\"marker\",\"data\":[]}");
        Assert.Equal("42[\"marker\"]", (await other.ReadNonPingFrameAsync()).Text);

        JsonElement prompt = await server.WaitForCompletePromptAsync(id);
        Assert.Equal(id, prompt.GetProperty("id").GetString());
        Assert.Equal(JsonValueKind.Null, prompt.GetProperty("streamId").ValueKind);
        Assert.Equal("/", prompt.GetProperty("namespace").GetString());
        Assert.Equal("show-9", prompt.GetProperty("channel").GetString());
        Assert.Equal("question", prompt.GetProperty("event").GetString());
        Assert.InRange(prompt.GetProperty("publishedAt").GetInt64(), before - 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1);
        Assert.Equal(JsonValueKind.Null, prompt.GetProperty("revealAt").ValueKind);
        Assert.Equal(1, prompt.GetProperty("recipients").GetInt32());
        double first = prompt.GetProperty("firstWriteMs").GetDouble();
        double last = prompt.GetProperty("lastWriteMs").GetDouble();
        Assert.True(first >= 0 && first <= last, prompt.GetRawText());
        Assert.Equal(0, prompt.GetProperty("slowConsumers").GetInt32());
        Assert.Equal(JsonValueKind.Null, prompt.GetProperty("streamLagMs").ValueKind);
        Assert.True(prompt.GetProperty("complete").GetBoolean());
    }

    [Fact]
    public async Task Prompts_Limit_NewestFirst()
    {
        string first = "order-a-" + Guid.NewGuid().ToString("N");
        string second = "order-b-" + Guid.NewGuid().ToString("N");
        await PublishAsync($"{{\"event\":\"x\",\"data\":[],\"id\":\"{first}\"}}");
        await PublishAsync($"{{\"event\":\"x\",\"data\":[],\"id\":\"{second}\"}}");

        JsonElement two = await GetPromptsAsync("?limit=2");
        Assert.Equal([second, first], two.EnumerateArray().Select(p => p.GetProperty("id").GetString()));
        Assert.Single((await GetPromptsAsync("?limit=1")).EnumerateArray());
    }

    [Theory]
    [InlineData("?limit=0")]
    [InlineData("?limit=-3")]
    [InlineData("?limit=ten")]
    public async Task Prompts_BadLimit_Returns400(string query)
    {
        HttpResponseMessage response = await server.Admin.GetAsync("/v1/prompts" + query);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private async Task PublishAsync(string json)
    {
        HttpResponseMessage response = await server.PublishAsync(json);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private async Task<JsonElement> GetPromptsAsync(string query = "")
    {
        HttpResponseMessage response = await server.Admin.GetAsync("/v1/prompts" + query);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("prompts");
    }

    private async Task<RawClient> JoinAsync(string auth)
    {
        (RawClient client, _) = await RawClient.OpenWebSocketAsync(server.Port);
        await client.SendTextAsync("40" + auth);
        Assert.StartsWith("40{\"sid\"", (await client.ReadNonPingFrameAsync()).Text);
        return client;
    }
}
