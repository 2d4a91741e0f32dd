using System.Text.Json;

namespace Gateway.Conformance.Tests;

/// <summary>
/// engine.io's request verification on requests that carry a sid (lib/server.ts <c>verify</c>, then the polling
/// transport's <c>onRequest</c>), and its answer to overlapping data requests (lib/transports/polling.ts).
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class RequestVerificationTests(GatewayServer server)
{
    private async Task<string> HandshakeAsync()
    {
        using RawClient client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        (int status, _, string body) = await client.ReadHttpResponseAsync();
        Assert.Equal(200, status);
        using JsonDocument open = JsonDocument.Parse(body.AsMemory(1));
        return open.RootElement.GetProperty("sid").GetString()!;
    }

    private async Task<(int Status, string Head, string Body)> RequestAsync(string method, string query, string body = "")
    {
        using RawClient client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync($"{method} /socket.io/?{query} HTTP/1.1\r\nHost: x\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        return await client.ReadHttpResponseAsync();
    }

    [Theory]
    [InlineData("GET", "transport=polling", 5, "Unsupported protocol version")]
    [InlineData("GET", "EIO=3&transport=polling", 5, "Unsupported protocol version")]
    [InlineData("POST", "EIO=5&transport=polling", 5, "Unsupported protocol version")]
    [InlineData("GET", "EIO=4&transport=abc", 0, "Transport unknown")]
    [InlineData("POST", "EIO=4", 0, "Transport unknown")]
    [InlineData("GET", "EIO=4&transport=websocket", 3, "Bad request")]
    [InlineData("POST", "EIO=4&transport=websocket", 3, "Bad request")]
    public async Task SidRequest_Invalid_Returns400WithEngineIOError_SessionStays(string method, string query, int code, string message)
    {
        string sid = await HandshakeAsync();
        (int status, _, string body) = await RequestAsync(method, $"{query}&sid={sid}", method == "POST" ? "6" : "");
        Assert.Equal(400, status);
        Assert.Equal($"{{\"code\":{code},\"message\":\"{message}\"}}", body);

        // The refused request did not touch the session: a valid POST on it is still accepted.
        (status, _, body) = await RequestAsync("POST", $"EIO=4&transport=polling&sid={sid}", "1");
        Assert.Equal((200, "ok"), (status, body));
        await server.AssertNoConnectionsAsync();
    }

    [Theory]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task SidRequest_NeitherGetNorPost_Returns500WithoutBody(string method)
    {
        string sid = await HandshakeAsync();
        (int status, string head, string body) = await RequestAsync(method, $"EIO=4&transport=polling&sid={sid}");
        // engine.io's polling transport: res.writeHead(500); res.end().
        Assert.Equal(500, status);
        Assert.Equal("", body);
        Assert.Contains("Content-Length: 0\r\n", head);
        (status, _, body) = await RequestAsync("POST", $"EIO=4&transport=polling&sid={sid}", "1");
        Assert.Equal((200, "ok"), (status, body));
        await server.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task Post_WhileAnotherPostIsInProgress_Returns400AndClosesSession()
    {
        string sid = await HandshakeAsync();
        string head = $"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n";
        // Two POSTs whose bodies never complete: whichever head the gateway reads second overlaps the first, whatever
        // the order, so no timing decides the outcome.
        using RawClient a = await RawClient.ConnectAsync(server.Port);
        using RawClient b = await RawClient.ConnectAsync(server.Port);
        await a.SendAsync(head + "4hel");
        await b.SendAsync(head + "4hel");

        (int Status, string Head, string Body)?[] answers = await Task.WhenAll(ReadResponseOrEndAsync(a), ReadResponseOrEndAsync(b));
        // The second gets 400; the one in progress is destroyed without an answer (engine.io: dataReq.destroy()).
        (int status, _, string body) = Assert.Single(answers, x => x is not null)!.Value;
        Assert.Equal(400, status);
        Assert.Equal("{\"code\":3,\"message\":\"Bad request\"}", body);
        Assert.Single(answers, x => x is null);

        // The session is gone.
        (status, _, body) = await RequestAsync("GET", $"EIO=4&transport=polling&sid={sid}");
        Assert.Equal((400, "{\"code\":1,\"message\":\"Session ID unknown\"}"), (status, body));
        await server.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task Post_OneAfterAnother_OnTwoConnections_AreBothAccepted()
    {
        string sid = await HandshakeAsync();
        string url = $"EIO=4&transport=polling&sid={sid}";
        using RawClient a = await RawClient.ConnectAsync(server.Port);
        // A POST whose body comes in two writes, then a second POST once the first is answered: no overlap.
        await a.SendAsync($"POST /socket.io/?{url} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n");
        await a.SendAsync("6");
        Assert.Equal((200, "ok"), Pick(await a.ReadHttpResponseAsync()));
        (int status, _, string body) = await RequestAsync("POST", url, "6");
        Assert.Equal((200, "ok"), (status, body));
        (status, _, body) = await RequestAsync("POST", url, "1");
        Assert.Equal((200, "ok"), (status, body));
        await server.AssertNoConnectionsAsync();
    }

    private static (int, string) Pick((int Status, string Head, string Body) response) => (response.Status, response.Body);

    /// <summary>The response, or null when the gateway ends the connection without one.</summary>
    private static async Task<(int Status, string Head, string Body)?> ReadResponseOrEndAsync(RawClient client)
    {
        try
        {
            return await client.ReadHttpResponseAsync();
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            return null;
        }
    }
}
