using System.Net;
using System.Text.Json;

namespace Gateway.Conformance.Tests;

/// <summary>
/// A prompt for one channel reaches that channel's members only, or nobody: never the whole namespace. The channel
/// registry is bounded and reclaims names, and one client creating names cannot exhaust it for the others.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class ChannelLimitTests(GatewayServer server)
{
    private static string Publish(string channelJson, string eventName) =>
        $"{{\"namespace\":\"/\",\"channel\":{channelJson},\"event\":\"{eventName}\",\"data\":[1]}}";

    private async Task<long> RefusedAsync(string reason) =>
        (await server.StatsAsync()).GetProperty("channelsRefused").GetProperty(reason).GetInt64();

    [Fact]
    public async Task Publish_ToANameThatCannotBeAChannel_Is400_AndReachesNobody()
    {
        using RawClient inNamespace = await RawClient.JoinAsync(server.Port);
        using RawClient inChannel = await RawClient.JoinAsync(server.Port, "{\"channels\":[\"limits-show\"]}");
        long before = await RefusedAsync("publish_invalid_name");

        string tooLong = new('c', 129);
        foreach (string channel in new[] { $"\"{tooLong}\"", "\"\"", "\"\\ud800\"", "42", "[\"limits-show\"]" })
        {
            HttpResponseMessage response = await server.PublishAsync(Publish(channel, "refused"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("channel must be", await response.Content.ReadAsStringAsync());
        }

        // A valid name nobody is in: accepted, delivered to nobody (202).
        Assert.Equal(HttpStatusCode.Accepted, (await server.PublishAsync(Publish("\"limits-nobody\"", "empty"))).StatusCode);

        // The sentinel, published after: the first thing either socket receives.
        Assert.Equal(HttpStatusCode.Accepted, (await server.PublishAsync("{\"event\":\"sentinel\",\"data\":[]}")).StatusCode);
        Assert.Equal("42[\"sentinel\"]", (await inNamespace.ReadNonPingFrameAsync()).Text);
        Assert.Equal("42[\"sentinel\"]", (await inChannel.ReadNonPingFrameAsync()).Text);
        Assert.Equal(before + 5, await RefusedAsync("publish_invalid_name"));
    }

    [Fact]
    public async Task OneClientCreatingNames_CannotExhaustTheRegistry_AnotherClientStillJoinsANewChannel()
    {
        await server.AssertNoConnectionsAsync(); // earlier tests' sessions have released their channels
        int baseline = (await server.StatsAsync()).GetProperty("channels").GetInt32();
        long refusedBefore = await RefusedAsync("new_per_socket");
        string Names(int from, int count) => string.Join(",", Enumerable.Range(from, count).Select(i => $"\"churn-{i}\""));

        // The attacker: each socket may bring 32 new names into the registry over its life (Channels:NewPerSocket),
        // holds at most 32 at once, and frees what it leaves; reconnecting starts a socket that holds nothing.
        for (int round = 0; round < 3; round++)
        {
            using RawClient attacker = await RawClient.JoinAsync(server.Port);
            await attacker.SendTextAsync($"421[\"subscribe\",[{Names(round * 1000, 32)}]]");
            Assert.StartsWith("431[{\"ok\":true", (await attacker.ReadNonPingFrameAsync()).Text);
            await attacker.SendTextAsync($"422[\"unsubscribe\",[{Names(round * 1000, 32)}]]");
            Assert.Equal("432[{\"ok\":true,\"channels\":[]}]", (await attacker.ReadNonPingFrameAsync()).Text);
            await attacker.SendTextAsync($"423[\"subscribe\",[{Names((round * 1000) + 500, 1)}]]");
            Assert.Equal("433[{\"ok\":false,\"error\":\"too many new channels\"}]", (await attacker.ReadNonPingFrameAsync()).Text);
            Assert.Equal(baseline, (await server.StatsAsync()).GetProperty("channels").GetInt32());
        }

        Assert.Equal(refusedBefore + 3, await RefusedAsync("new_per_socket"));

        // Another client joins a channel nobody was in, and gets what is published to it.
        using RawClient viewer = await RawClient.JoinAsync(server.Port, "{\"channels\":[\"limits-fresh\"]}");
        Assert.Equal(HttpStatusCode.Accepted, (await server.PublishAsync(Publish("\"limits-fresh\"", "fresh"))).StatusCode);
        Assert.Equal("42[\"fresh\",1]", (await viewer.ReadNonPingFrameAsync()).Text);
    }

    [Fact]
    public async Task Channel_LastMemberLeaves_TheNameIsReclaimed()
    {
        await server.AssertNoConnectionsAsync(); // earlier tests' sessions have released their channels
        int baseline = (await server.StatsAsync()).GetProperty("channels").GetInt32();
        RawClient a = await RawClient.JoinAsync(server.Port, "{\"channels\":[\"limits-reclaim\",\"limits-a\"]}");
        RawClient b = await RawClient.JoinAsync(server.Port, "{\"channels\":[\"limits-reclaim\"]}");
        Assert.Equal(baseline + 2, (await server.StatsAsync()).GetProperty("channels").GetInt32());

        a.Dispose(); // its session ends: it leaves both channels; "limits-reclaim" still has b
        await server.WaitForStatsAsync(stats => stats.GetProperty("channels").GetInt32() == baseline + 1, "limits-a reclaimed");
        await b.SendTextAsync("421[\"unsubscribe\",\"limits-reclaim\"]");
        Assert.Equal("431[{\"ok\":true,\"channels\":[]}]", (await b.ReadNonPingFrameAsync()).Text);
        Assert.Equal(baseline, (await server.StatsAsync()).GetProperty("channels").GetInt32());
        b.Dispose();
        await server.AssertNoConnectionsAsync();
    }
}
