using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Protocol.WebSockets;

namespace Gateway.Conformance.Tests;

/// <summary>
/// Malformed text inside a well-formed packet — invalid UTF-8 in a JSON string of a polling POST, an escaped lone
/// surrogate on either transport — is a protocol error: HTTP 400 on polling, close 1007 on WebSocket, counted; the
/// gateway keeps serving.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class MalformedTextTests(GatewayServer server)
{
    // Each body is a polling POST: field by field, and the byte that makes its text invalid.
    public static TheoryData<string, byte[]> InvalidPollingBodies => new()
    {
        // 421["subscribe","<0x8D>"]: a lone UTF-8 continuation byte in a channel name (after a CONNECT).
        { "subscribe", [.. "40\u001e421[\"subscribe\",\""u8, 0x8D, .. "\"]"u8] },
        // 40{"channels":["<0x8D>"]}: in the handshake auth's channels.
        { "connect channels", [.. "40{\"channels\":[\""u8, 0x8D, .. "\"]}"u8] },
        // 40{"pid":"<0xC3>","offset":"1-0"}: in a recovery pid, a lead byte without its continuation.
        { "connect pid", [.. "40{\"pid\":\""u8, 0xC3, .. "\",\"offset\":\"1-0\"}"u8] },
        // 421["answer",{"promptId":"<0xFF>"}]: in an answer's promptId.
        { "answer promptId", [.. "40\u001e421[\"answer\",{\"promptId\":\""u8, 0xFF, .. "\"}]"u8] },
        // 421["subscribe","\ud800"]: valid UTF-8, but an escaped lone surrogate.
        { "lone surrogate", [.. "40\u001e421[\"subscribe\",\"\\ud800\"]"u8] },
    };

    [Theory]
    [MemberData(nameof(InvalidPollingBodies))]
    public async Task PollingPost_MalformedTextInAPacket_Is400_Counted_AndTheGatewayKeepsServing(string name, byte[] body)
    {
        _ = name;
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        long errors = (await server.StatsAsync()).GetProperty("protocolErrors").GetInt64();
        string sid = await HandshakeAsync(http);
        string url = $"/socket.io/?EIO=4&transport=polling&sid={sid}";

        HttpResponseMessage post = await http.PostAsync(url, new ByteArrayContent(body));
        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
        Assert.Equal(errors + 1, (await server.StatsAsync()).GetProperty("protocolErrors").GetInt64());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync(url)).StatusCode); // the session is closed

        // Still serving: a new session connects and is answered.
        string next = await HandshakeAsync(http);
        string nextUrl = $"/socket.io/?EIO=4&transport=polling&sid={next}";
        Assert.Equal("ok", await (await http.PostAsync(nextUrl, new StringContent("40"))).Content.ReadAsStringAsync());
        Assert.StartsWith("40{\"sid\":", await http.GetStringAsync(nextUrl));
        await http.PostAsync(nextUrl, new StringContent("1"));
        await server.AssertNoConnectionsAsync();
    }

    [Theory]
    [InlineData("421[\"subscribe\",\"\\ud800\"]")]
    [InlineData("421[\"answer\",{\"promptId\":\"\\udc00\"}]")]
    [InlineData("40{\"channels\":[\"a\\ud83d\"]}")]
    public async Task WebSocket_EscapedLoneSurrogateInAPacket_Closes1007_Counted(string packet)
    {
        long errors = (await server.StatsAsync()).GetProperty("protocolErrors").GetInt64();
        (RawClient client, _) = await RawClient.OpenWebSocketAsync(server.Port);
        using (client)
        {
            if (!packet.StartsWith("40", StringComparison.Ordinal))
            {
                await client.SendTextAsync("40");
                Assert.StartsWith("40{\"sid\"", (await client.ReadNonPingFrameAsync()).Text);
            }

            await client.SendTextAsync(packet);
            Assert.Equal(WebSocketCloseCode.InvalidPayloadData, await client.ReadCloseAsync());
        }

        Assert.Equal(errors + 1, (await server.StatsAsync()).GetProperty("protocolErrors").GetInt64());
        using RawClient next = await RawClient.JoinAsync(server.Port);
        await next.SendTextAsync("421[\"time\"]");
        Assert.StartsWith("431[{\"now\":", (await next.ReadNonPingFrameAsync()).Text);
    }

    private static async Task<string> HandshakeAsync(HttpClient http)
    {
        string body = await http.GetStringAsync("/socket.io/?EIO=4&transport=polling");
        using JsonDocument open = JsonDocument.Parse(body.AsMemory(1));
        return open.RootElement.GetProperty("sid").GetString()!;
    }
}
