using System.Net;
using System.Text.Json;

namespace Gateway.Conformance.Tests;

/// <summary>
/// <c>MaxOutboundBytes</c> holds for every transport, whatever the ring's capacity: a WebSocket client that reads
/// nothing and a polling session that never polls are closed as slow consumers once their queue passes it, while a
/// healthy client keeps receiving every prompt.
/// </summary>
public sealed class OutboundCapTests
{
    [Fact]
    public async Task StalledWebSocketAndPollingSession_ClosedAtTheCap_HealthyClientGetsEveryPrompt()
    {
        // A ring far longer than this test publishes: only the byte cap can close anyone.
        const int ring = 4096;
        await using GatewayServer server = await GatewayServer.StartWithAsync($"--Gateway:RingCapacity={ring}", "--Gateway:MaxOutboundBytes=65536");
        using RawClient healthy = await RawClient.JoinAsync(server.Port);
        using RawClient stalled = await RawClient.JoinAsync(server.Port, receiveBufferSize: 4096); // never reads again

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        string open = await http.GetStringAsync("/socket.io/?EIO=4&transport=polling");
        string sid = JsonDocument.Parse(open.AsMemory(1)).RootElement.GetProperty("sid").GetString()!;
        string pollUrl = $"/socket.io/?EIO=4&transport=polling&sid={sid}";
        Assert.Equal("ok", await (await http.PostAsync(pollUrl, new StringContent("40"))).Content.ReadAsStringAsync()); // then never polls

        string payload = new('x', 10_000);
        int published = 0;
        while (true)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await server.PublishAsync($"{{\"event\":\"bulk\",\"data\":[{published},\"{payload}\"]}}")).StatusCode);
            // The healthy client reads each prompt before the next is published: it is never behind.
            Assert.Equal($"42[\"bulk\",{published},\"{payload}\"]", (await healthy.ReadNonPingFrameAsync()).Text);
            published++;
            if (published % 20 == 0 && (await server.StatsAsync()).GetProperty("slowConsumers").GetInt64() == 2)
            {
                break;
            }

            // The kernel's socket buffers take a few MB from the stalled socket before its queue starts to grow.
            Assert.True(published < ring / 2, $"not both slow consumers closed after {published} prompts of 10 KB");
        }

        JsonElement stats = await server.WaitForStatsAsync(s => s.GetProperty("connections").GetInt64() == 1, "only the healthy client left");
        Assert.Equal(2, stats.GetProperty("slowConsumers").GetInt64());

        // The stalled WebSocket's connection is ended (reset: it would never read a close frame).
        Assert.True(await stalled.WaitForEndAsync());
        HttpResponseMessage poll = await http.GetAsync(pollUrl);
        Assert.Equal(HttpStatusCode.BadRequest, poll.StatusCode);
        Assert.Equal("{\"code\":1,\"message\":\"Session ID unknown\"}", await poll.Content.ReadAsStringAsync());

        // Exactly every prompt, in order, then the sentinel and nothing else.
        await server.PublishAsync("{\"event\":\"sentinel\",\"data\":[]}");
        Assert.Equal("42[\"sentinel\"]", (await healthy.ReadNonPingFrameAsync()).Text);
    }
}
