using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Tests.EndToEnd;
using Xunit;

namespace Gateway.Tests.Redis;

/// <summary>
/// Any gateway of a region serves any request of a session, byte for byte as the client sends them: a session opened
/// on one gateway is polled and posted to through another (forwarded to the one that holds it); a session id of a
/// gateway that is gone gets engine.io's "Session ID unknown"; the handover steps between gateways answer nobody
/// without the region's MAC. (Stock clients through a round-robin HAProxy: <c>RegionBalancerTests</c>.)
/// </summary>
[Trait("Category", "Redis")]
public sealed class RegionForwardingTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private RedisRegion _region = null!;

    public async Task InitializeAsync() => _region = await RedisRegion.StartAsync("forwarding", 2);

    public async Task DisposeAsync() => await _region.DisposeAsync();

    private static HttpClient PublicClient(ServerProcess gateway) =>
        new() { BaseAddress = new Uri($"http://127.0.0.1:{gateway.Port}"), Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Opens a polling session on <paramref name="gateway"/>: its sid.</summary>
    private static async Task<string> HandshakeAsync(HttpClient gateway)
    {
        string open = await gateway.GetStringAsync("/socket.io/?EIO=4&transport=polling");
        Assert.StartsWith("0{", open);
        return JsonDocument.Parse(open[1..]).RootElement.GetProperty("sid").GetString()!;
    }

    internal static async Task<(HttpStatusCode Status, string Body)> PostAsync(HttpClient gateway, string sid, string body)
    {
        using HttpResponseMessage response = await gateway.PostAsync(
            $"/socket.io/?EIO=4&transport=polling&sid={sid}", new StringContent(body, Encoding.UTF8, "text/plain"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<(HttpStatusCode Status, string Body)> PollAsync(HttpClient gateway, string sid)
    {
        using HttpResponseMessage response = await gateway.GetAsync($"/socket.io/?EIO=4&transport=polling&sid={sid}");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The other gateway learns where this one is from its heartbeat: until then its sessions are unknown there.</summary>
    internal static async Task<(HttpStatusCode Status, string Body)> PostOnceKnownAsync(HttpClient gateway, string sid, string body)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (true)
        {
            (HttpStatusCode status, string answer) = await PostAsync(gateway, sid, body);
            if (status == HttpStatusCode.OK || deadline.IsCancellationRequested)
            {
                return (status, answer);
            }

            await Task.Delay(100);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task PollingSession_IsServedThroughEitherGateway()
    {
        using HttpClient holder = PublicClient(_region.Gateways[0]);
        using HttpClient other = PublicClient(_region.Gateways[1]);
        string sid = await HandshakeAsync(holder);

        // CONNECT through the other gateway, the reply read through it too.
        Assert.Equal((HttpStatusCode.OK, "ok"), await PostOnceKnownAsync(other, sid, "40"));
        (HttpStatusCode status, string body) = await PollAsync(other, sid);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("40{\"sid\":\"", body);

        // A prompt published now reaches the session through whichever gateway polls it.
        (HttpStatusCode published, _) = await _region.Gateways[1].PublishAsync(new { @event = "prompt", data = new object[] { new { n = 1 } } });
        Assert.Equal(HttpStatusCode.Accepted, published);
        using var deadline = new CancellationTokenSource(Deadline);
        string received = "";
        while (!received.Contains("\"prompt\"", StringComparison.Ordinal) && !deadline.IsCancellationRequested)
        {
            (status, body) = await PollAsync(other, sid);
            Assert.Equal(HttpStatusCode.OK, status);
            received += body;
        }

        Assert.Contains("42[\"prompt\",{\"n\":1}", received, StringComparison.Ordinal);
        Assert.Equal(1, (await _region.Gateways[0].StatsAsync()).GetProperty("connections").GetInt32());
        Assert.Equal(0, (await _region.Gateways[1].StatsAsync()).GetProperty("connections").GetInt32());
        Assert.Contains("gateway_region_forwarded_total{otel_scope_name=\"Gateway\",outcome=\"answered\"}", await _region.Gateways[1].Admin.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact(Timeout = 90_000)]
    public async Task SessionOfAGoneGateway_IsUnknown_AsSocketIoAnswers()
    {
        using HttpClient holder = PublicClient(_region.Gateways[0]);
        using HttpClient other = PublicClient(_region.Gateways[1]);
        string sid = await HandshakeAsync(holder);
        Assert.Equal((HttpStatusCode.OK, "ok"), await PostOnceKnownAsync(other, sid, "40"));

        _region.Gateways[0].Kill();
        (HttpStatusCode status, string body) = await PollAsync(other, sid);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("{\"code\":1,\"message\":\"Session ID unknown\"}", body);

        // An instance nobody knows: the same answer, at once.
        (status, body) = await PollAsync(other, "ZZZZZZZZ" + sid[8..]);
        Assert.Equal((HttpStatusCode.BadRequest, "{\"code\":1,\"message\":\"Session ID unknown\"}"), (status, body));
    }

    [Theory(Timeout = 90_000)]
    [InlineData("handover", null)]
    [InlineData("handover", "AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("probe", "not-a-mac")]
    [InlineData("abort", "")]
    public async Task HandoverSteps_WithoutTheRegionsMac_AreNotFound_AndTheSessionStays(string step, string? mac)
    {
        using HttpClient holder = PublicClient(_region.Gateways[0]);
        string sid = await HandshakeAsync(holder);
        Assert.Equal((HttpStatusCode.OK, "ok"), await PostAsync(holder, sid, "40"));

        string query = mac is null ? $"sid={sid}" : $"sid={sid}&mac={mac}";
        using HttpResponseMessage response = await holder.PostAsync($"/gateway-region/{step}?{query}", content: null);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);

        // Untouched: the CONNECT reply is still there to poll.
        (HttpStatusCode status, string body) = await PollAsync(holder, sid);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("40{\"sid\":\"", body);
    }
}

/// <summary>
/// Gateways behind a balancer that sends PROXY headers (<c>Gateway:ProxyProtocol</c>) accept no connection without
/// one: the gateways' own connections to each other start with a LOCAL header, so forwarding still works.
/// </summary>
[Trait("Category", "Redis")]
public sealed class RegionForwardingBehindProxyProtocolTests : IAsyncLifetime
{
    private RedisRegion _region = null!;

    public async Task InitializeAsync() => _region = await RedisRegion.StartAsync("forwarding-proxy", 2, "--Gateway:ProxyProtocol=true");

    public async Task DisposeAsync() => await _region.DisposeAsync();

    /// <summary>One request on a new connection, as the balancer passes it: a v1 header naming a client first.</summary>
    private static async Task<string> RequestAsync(ServerProcess gateway, string request)
    {
        using System.Net.Sockets.Socket socket = await RawHttp.ConnectAsync(gateway.Port);
        await RawHttp.SendAsync(socket, $"PROXY TCP4 127.0.0.9 127.0.0.1 40000 {gateway.Port}\r\n" + request);
        return await RawHttp.ReadResponseAsync(socket);
    }

    private static string Post(string sid, string body) =>
        $"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";

    private static string Get(string sid) => $"GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    [Fact(Timeout = 90_000)]
    public async Task PollingSession_IsServedThroughTheOtherGateway()
    {
        string open = await RequestAsync(_region.Gateways[0], RawHttp.PollingHandshake);
        Assert.Contains("HTTP/1.1 200", open, StringComparison.Ordinal);
        string sid = JsonDocument.Parse(open[(open.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 5)..]).RootElement.GetProperty("sid").GetString()!;

        // The other gateway learns where this one is from its heartbeat: until then the session is unknown there.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string posted = await RequestAsync(_region.Gateways[1], Post(sid, "40"));
        while (!posted.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) && !deadline.IsCancellationRequested)
        {
            await Task.Delay(100);
            posted = await RequestAsync(_region.Gateways[1], Post(sid, "40"));
        }

        Assert.StartsWith("HTTP/1.1 200", posted, StringComparison.Ordinal);
        string polled = await RequestAsync(_region.Gateways[1], Get(sid));
        Assert.StartsWith("HTTP/1.1 200", polled, StringComparison.Ordinal);
        Assert.Contains("\r\n\r\n40{\"sid\":\"", polled, StringComparison.Ordinal);
    }
}

/// <summary>
/// <c>Gateway:Limits:MaxConnectionsPerIp</c> counts clients, not the other gateways of the region: their pooled
/// connections carry many clients' forwarded requests at once.
/// </summary>
[Trait("Category", "Redis")]
public sealed class RegionForwardingPerIpLimitTests : IAsyncLifetime
{
    private RedisRegion _region = null!;

    public async Task InitializeAsync() => _region = await RedisRegion.StartAsync("forwarding-per-ip", 2, "--Gateway:Limits:MaxConnectionsPerIp=2");

    public async Task DisposeAsync() => await _region.DisposeAsync();

    /// <summary>An HTTP client whose connections come from <paramref name="localAddress"/>.</summary>
    private static HttpClient ClientFrom(string localAddress, ServerProcess gateway) =>
        new(new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        })
        { BaseAddress = new Uri($"http://127.0.0.1:{gateway.Port}"), Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Posts a CONNECT to <paramref name="sid"/> through <paramref name="client"/>'s gateway until it is forwarded (200).</summary>
    private static async Task PostOnceForwardedAsync(HttpClient client, string sid)
    {
        using (client)
        {
            Assert.Equal(HttpStatusCode.OK, (await RegionForwardingTests.PostOnceKnownAsync(client, sid, "40")).Status);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task ForwardedPolls_OfManyClients_AreNotOneAddressOverItsLimit()
    {
        ServerProcess holder = _region.Gateways[0], other = _region.Gateways[1];
        string[] addresses = ["127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8"];
        var sids = new List<string>();
        foreach (string address in addresses)
        {
            using HttpClient client = ClientFrom(address, holder);
            string open = await client.GetStringAsync("/socket.io/?EIO=4&transport=polling");
            sids.Add(JsonDocument.Parse(open[1..]).RootElement.GetProperty("sid").GetString()!);
        }

        // Wait until each gateway knows the other from its heartbeats (a harmless POST answered once it forwards): the
        // other one to forward, the holder to tell its connections from a client's.
        await PostOnceForwardedAsync(ClientFrom(addresses[0], other), sids[0]);
        using (HttpClient onOther = ClientFrom("127.0.0.9", other))
        {
            string open = await onOther.GetStringAsync("/socket.io/?EIO=4&transport=polling");
            await PostOnceForwardedAsync(ClientFrom("127.0.0.9", holder), JsonDocument.Parse(open[1..]).RootElement.GetProperty("sid").GetString()!);
        }

        // Four held GETs at once through the other gateway: four connections from it to the holder, over a limit of 2.
        var clients = addresses.Select(a => ClientFrom(a, other)).ToArray();
        Task<HttpResponseMessage>[] polls = sids.Select((sid, i) => clients[i].GetAsync($"/socket.io/?EIO=4&transport=polling&sid={sid}")).ToArray();
        // The first already has its CONNECT reply queued; the others get theirs now, through the holder directly.
        for (int i = 1; i < sids.Count; i++)
        {
            using HttpClient direct = ClientFrom(addresses[i], holder);
            using HttpResponseMessage connected = await direct.PostAsync($"/socket.io/?EIO=4&transport=polling&sid={sids[i]}", new StringContent("40"));
            Assert.Equal(HttpStatusCode.OK, connected.StatusCode);
        }

        foreach (Task<HttpResponseMessage> poll in polls)
        {
            using HttpResponseMessage response = await poll;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("40{\"sid\":\"", await response.Content.ReadAsStringAsync());
        }

        foreach (HttpClient client in clients)
        {
            client.Dispose();
        }
    }
}
