using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Protocol.WebSockets;

namespace Gateway.Conformance.Tests;

/// <summary>Engine.IO HTTP long-polling and request verification, answered as engine.io 6 answers them.</summary>
[Collection(GatewayCollection.Name)]
public sealed class PollingTests(GatewayServer server)
{
    private HttpClient Http() => Http(server);

    private static HttpClient Http(GatewayServer gateway) => new() { BaseAddress = new Uri($"http://127.0.0.1:{gateway.Port}") };

    private async Task<string> HandshakeAsync(HttpClient http)
    {
        string body = await http.GetStringAsync("/socket.io/?EIO=4&transport=polling&t=abc");
        Assert.StartsWith("0{", body);
        using JsonDocument open = JsonDocument.Parse(body.AsMemory(1));
        Assert.Equal("[\"websocket\"]", open.RootElement.GetProperty("upgrades").GetRawText());
        return open.RootElement.GetProperty("sid").GetString()!;
    }

    [Theory]
    [InlineData("/socket.io/?transport=polling", 5, "Unsupported protocol version")]
    [InlineData("/socket.io/?EIO=3&transport=polling", 5, "Unsupported protocol version")]
    [InlineData("/socket.io/?EIO=abc&transport=polling", 5, "Unsupported protocol version")]
    [InlineData("/socket.io/?EIO=4", 0, "Transport unknown")]
    [InlineData("/socket.io/?EIO=4&transport=abc", 0, "Transport unknown")]
    [InlineData("/socket.io/?EIO=4&transport=polling&sid=nope", 1, "Session ID unknown")]
    [InlineData("/socket.io/?EIO=4&transport=websocket", 3, "Bad request")]
    public async Task Get_InvalidQuery_Returns400WithEngineIOError(string url, int code, string message)
    {
        using HttpClient http = Http();
        HttpResponseMessage response = await http.GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal($"{{\"code\":{code},\"message\":\"{message}\"}}", await response.Content.ReadAsStringAsync());
        await server.AssertNoConnectionsAsync();
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    public async Task Handshake_NotGet_ReturnsBadHandshakeMethod(string method)
    {
        using HttpClient http = Http();
        HttpResponseMessage response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/socket.io/?EIO=4&transport=polling") { Content = new StringContent("") });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("{\"code\":2,\"message\":\"Bad handshake method\"}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OtherPath_Returns404()
    {
        using HttpClient http = Http();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/other/?EIO=4&transport=polling")).StatusCode);
    }

    [Fact]
    public async Task PostAndPoll_RoundTripsRecordsAndBinary()
    {
        using HttpClient http = Http();
        string sid = await HandshakeAsync(http);
        string url = $"/socket.io/?EIO=4&transport=polling&sid={sid}";
        HttpResponseMessage post = await http.PostAsync(url, new StringContent("40"));
        Assert.Equal("ok", await post.Content.ReadAsStringAsync());
        Assert.StartsWith("40{\"sid\":\"", await http.GetStringAsync(url));

        // One POST, several records: an event and a binary event whose attachment is base64.
        await http.PostAsync(url, new StringContent("42[\"echo\",1]\u001e451-[\"echo\",{\"_placeholder\":true,\"num\":0}]\u001ebAQIDBA=="));
        Assert.Equal("42[\"echo\",1]\u001e451-[\"echo\",{\"_placeholder\":true,\"num\":0}]\u001ebAQIDBA==", await http.GetStringAsync(url));

        await http.PostAsync(url, new StringContent("1"));
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync(url)).StatusCode);
        await server.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task Poll_IsHeldUntilData()
    {
        // A gateway whose ping cannot end the held poll first, however slow this machine is.
        await using GatewayServer quiet = await GatewayServer.StartQuietAsync();
        using HttpClient http = Http(quiet);
        string sid = await HandshakeAsync(http);
        string url = $"/socket.io/?EIO=4&transport=polling&sid={sid}";
        await http.PostAsync(url, new StringContent("40"));
        await http.GetStringAsync(url);
        Task<string> held = http.GetStringAsync(url);
        await quiet.WaitUntilPollHeldAsync(sid); // the GET reached the gateway, which had nothing to answer it with
        Assert.False(held.IsCompleted);
        await http.PostAsync(url, new StringContent("421[\"ack\",\"x\"]"));
        // The ack is the sentinel: the held poll's one answer is it, and nothing before it.
        Assert.Equal("431[\"x\"]", await held);
        await http.PostAsync(url, new StringContent("1"));
        await quiet.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task Poll_Duplicate_ClosesSession()
    {
        // The second GET while the first is held is the duplicate: it gets 400 and the held one ends with close ("1").
        // A gateway whose ping cannot end the first poll before the second arrives.
        await using GatewayServer quiet = await GatewayServer.StartQuietAsync();
        using HttpClient http = Http(quiet);
        using HttpClient other = Http(quiet);
        string sid = await HandshakeAsync(http);
        string url = $"/socket.io/?EIO=4&transport=polling&sid={sid}";
        Task<HttpResponseMessage> first = http.GetAsync(url);
        await quiet.WaitUntilPollHeldAsync(sid);
        HttpResponseMessage second = await other.GetAsync(url + "&t=burst");
        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        HttpResponseMessage held = await first;
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        Assert.Equal("1", await held.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync(url)).StatusCode);
        await quiet.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task Post_ClientClose_EndsHeldPollWithNoop()
    {
        // A gateway whose ping cannot end the held poll first.
        await using GatewayServer quiet = await GatewayServer.StartQuietAsync();
        using HttpClient http = Http(quiet);
        using HttpClient other = Http(quiet);
        string sid = await HandshakeAsync(http);
        string url = $"/socket.io/?EIO=4&transport=polling&sid={sid}";
        Task<string> held = http.GetStringAsync(url);
        await quiet.WaitUntilPollHeldAsync(sid);
        Assert.Equal("ok", await (await other.PostAsync(url, new StringContent("1"))).Content.ReadAsStringAsync());
        Assert.Equal("6", await held);
        await quiet.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task Post_InvalidPacket_Returns400AndClosesSession()
    {
        using HttpClient http = Http();
        string sid = await HandshakeAsync(http);
        string url = $"/socket.io/?EIO=4&transport=polling&sid={sid}";
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync(url, new StringContent("abc"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync(url)).StatusCode);
        await server.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task Post_OverMaxPayload_Returns413AndClosesSession()
    {
        using HttpClient http = Http();
        string sid = await HandshakeAsync(http);
        string url = $"/socket.io/?EIO=4&transport=polling&sid={sid}";
        HttpResponseMessage response = await http.PostAsync(url, new StringContent("4" + new string('a', GatewayServer.MaxPayload)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using HttpClient again = Http();
        Assert.Equal(HttpStatusCode.BadRequest, (await again.GetAsync(url)).StatusCode);
        await server.AssertNoConnectionsAsync();
    }

    [Theory]
    [InlineData("GARBAGE\r\n\r\n")]
    [InlineData("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n")]
    [InlineData("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n")]
    [InlineData("GET /socket.io/?EIO=4&transport=polling HTTP/2.0\r\nHost: x\r\n\r\n")]
    [InlineData("POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab")]
    public async Task BadHttp_Returns400AndCloses(string request)
    {
        using RawClient client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync(request);
        (int status, string head, _) = await client.ReadHttpResponseAsync();
        Assert.Equal(400, status);
        Assert.Contains("Connection: close", head);
        Assert.True(await client.WaitForEndAsync());
        await server.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task RequestHead_OverLimit_Returns431()
    {
        using RawClient client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('a', 9000) + "\r\n\r\n");
        (int status, _, _) = await client.ReadHttpResponseAsync();
        Assert.Equal(431, status);
        Assert.True(await client.WaitForEndAsync());
    }

    [Fact]
    public async Task KeepAlive_SeveralRequestsOnOneConnection()
    {
        using RawClient client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync("GET /socket.io/?EIO=4&transport=polling&t=1 HTTP/1.1\r\nHost: x\r\n\r\n");
        (int status, _, string body) = await client.ReadHttpResponseAsync();
        Assert.Equal(200, status);
        string sid = JsonDocument.Parse(body.AsMemory(1)).RootElement.GetProperty("sid").GetString()!;
        await client.SendAsync($"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 2\r\n\r\n40");
        Assert.Equal("ok", (await client.ReadHttpResponseAsync()).Body);
        await client.SendAsync($"GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.StartsWith("40{\"sid\"", (await client.ReadHttpResponseAsync()).Body);
        await client.SendAsync($"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1");
        Assert.Equal("ok", (await client.ReadHttpResponseAsync()).Body);
        await server.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task Upgrade_ProbeNoopAndSwitch()
    {
        // A gateway whose ping cannot end the held poll before the probe does.
        await using GatewayServer quiet = await GatewayServer.StartQuietAsync();
        using HttpClient http = Http(quiet);
        string sid = await HandshakeAsync(http);
        string url = $"/socket.io/?EIO=4&transport=polling&sid={sid}";
        await http.PostAsync(url, new StringContent("40"));
        await http.GetStringAsync(url);
        Task<string> held = http.GetStringAsync(url);
        await quiet.WaitUntilPollHeldAsync(sid);

        (RawClient ws, _) = await RawClient.OpenWebSocketAsync(quiet.Port, $"EIO=4&transport=websocket&sid={sid}");
        using (ws)
        {
            await ws.SendTextAsync("2probe");
            Assert.Equal("3probe", (await ws.ReadFrameAsync()).Text);
            Assert.Equal("6", await held); // the noop that ends the pending poll
            await ws.SendTextAsync("5");
            await ws.SendTextAsync("421[\"ack\",\"over ws\"]");
            Assert.Equal("431[\"over ws\"]", (await ws.ReadNonPingFrameAsync()).Text);

            // After the upgrade, polling with the same sid is a transport mismatch, and a second upgrade is accepted
            // then closed (engine.io's behaviour).
            HttpResponseMessage poll = await http.GetAsync(url);
            Assert.Equal(HttpStatusCode.BadRequest, poll.StatusCode);
            Assert.Equal("{\"code\":3,\"message\":\"Bad request\"}", await poll.Content.ReadAsStringAsync());
            (RawClient second, _) = await RawClient.OpenWebSocketAsync(quiet.Port, $"EIO=4&transport=websocket&sid={sid}");
            using (second)
            {
                Assert.Equal(WebSocketCloseCode.NormalClosure, await second.ReadCloseAsync());
            }

            JsonElement stats = await quiet.StatsAsync();
            Assert.Equal(1, stats.GetProperty("transports").GetProperty("websocket").GetInt64());
        }

        await quiet.AssertNoConnectionsAsync();
    }

    [Theory]
    [InlineData("Sec-WebSocket-Key: short==\r\nSec-WebSocket-Version: 13\r\n", "Missing or invalid Sec-WebSocket-Key header")]
    public async Task WebSocketHandshake_Invalid_Returns400(string headers, string message)
    {
        using RawClient client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync($"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{headers}\r\n");
        (int status, _, string body) = await client.ReadHttpResponseAsync();
        Assert.Equal(400, status);
        Assert.Equal(message, body);
        await server.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task WebSocketUpgrade_UnknownSid_Returns400()
    {
        using RawClient client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync("GET /socket.io/?EIO=4&transport=websocket&sid=unknown HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        (int status, _, string body) = await client.ReadHttpResponseAsync();
        Assert.Equal(400, status);
        Assert.Equal("Session ID unknown", body);
    }

    [Fact]
    public async Task Cors_AllowedOrigin_GetsHeaders_OthersDoNot()
    {
        using HttpClient http = Http();
        var allowed = new HttpRequestMessage(HttpMethod.Get, "/socket.io/?EIO=4&transport=polling");
        allowed.Headers.Add("Origin", "http://allowed.example");
        HttpResponseMessage response = await http.SendAsync(allowed);
        Assert.Equal("http://allowed.example", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("true", response.Headers.GetValues("Access-Control-Allow-Credentials").Single());

        var other = new HttpRequestMessage(HttpMethod.Get, "/socket.io/?EIO=4&transport=polling");
        other.Headers.Add("Origin", "http://evil.example");
        Assert.False((await http.SendAsync(other)).Headers.Contains("Access-Control-Allow-Origin"));

        var preflight = new HttpRequestMessage(HttpMethod.Options, "/socket.io/?EIO=4&transport=polling");
        preflight.Headers.Add("Origin", "http://allowed.example");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type");
        HttpResponseMessage answer = await http.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.Contains("POST", answer.Headers.GetValues("Access-Control-Allow-Methods").Single());
        Assert.Equal("content-type", answer.Headers.GetValues("Access-Control-Allow-Headers").Single());

        // The two handshakes above opened sessions that nobody polls: they time out (polled until they have).
        await server.AssertNoConnectionsAsync();
    }
}
