using System.Text;
using Gateway.Diagnostics;
using Gateway.EngineIO;

namespace Gateway.Tests.Transport;

/// <summary>
/// Admission on the real connection handler with a fake clock: request head and body deadlines, the memory of
/// incomplete bodies, eviction at the cap, sessions against the cap, handshakes per connection, the accept rate, the
/// per-address cap and the Origin of an upgrade. Each limit answers with its status and touches only its offender.
/// </summary>
public sealed class AdmissionTests
{
    private const string Handshake = "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n";

    private static string StalledPost(int contentLength) =>
        $"POST /socket.io/?EIO=4&transport=polling&sid=none HTTP/1.1\r\nHost: x\r\nContent-Length: {contentLength}\r\n\r\n";

    private static int Count(string text, string what)
    {
        int count = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static void AssertRetryAfter(string response, int retryAfterMs)
    {
        int at = response.IndexOf("Retry-After: ", StringComparison.Ordinal);
        Assert.True(at >= 0, $"no Retry-After in {response}");
        int seconds = int.Parse(response.AsSpan(at + 13, response.IndexOf('\r', at) - at - 13), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(seconds, Math.Max(1, retryAfterMs / 2000), ((retryAfterMs * 3) + 1999) / 2000);
    }

    [Fact]
    public async Task Connection_WithoutARequestHead_IsClosedSilentlyAtRequestHeadTimeout()
    {
        using var gateway = new ConnectionHarness(o => o.Limits.RequestHeadTimeout = 10_000);
        TestConnection idle = gateway.Connect();
        for (int i = 0; i < 9; i++)
        {
            gateway.Advance(1000);
        }

        gateway.Advance(999);
        Assert.Equal(0, gateway.Runtime.Metrics.Refused(RefusalReason.RequestHeadTimeout));
        gateway.Advance(1);
        Assert.Equal(1, gateway.Runtime.Metrics.Refused(RefusalReason.RequestHeadTimeout));
        await idle.WaitEndedAsync("idle connection");
        Assert.Equal("", idle.Received);
        Assert.Equal(0, gateway.Runtime.Admission.Connections);
    }

    [Fact]
    public async Task SlowHead_OneByteEveryFewSeconds_IsClosedAtTheDeadlineCountedFromTheAccept()
    {
        using var gateway = new ConnectionHarness(o => o.Limits.RequestHeadTimeout = 10_000);
        TestConnection slowloris = gateway.Connect();
        foreach (char c in "GET /socket")
        {
            await slowloris.SendAsync(c.ToString());
            gateway.Advance(1000); // each byte a second apart: the deadline does not move
            if (gateway.Runtime.Metrics.Refused(RefusalReason.RequestHeadTimeout) > 0)
            {
                break;
            }
        }

        Assert.Equal(1, gateway.Runtime.Metrics.Refused(RefusalReason.RequestHeadTimeout));
        await slowloris.WaitEndedAsync("slowloris");
        // A begun head is told why (408); the connection ends either way.
        Assert.True(slowloris.Received is "" || slowloris.Received.StartsWith("HTTP/1.1 408 Request Timeout", StringComparison.Ordinal), slowloris.Received);
    }

    [Fact]
    public async Task KeepAliveConnection_IdleAfterItsAnswer_IsClosedRequestHeadTimeoutAfterTheAnswer()
    {
        using var gateway = new ConnectionHarness(o => o.Limits.RequestHeadTimeout = 5000);
        TestConnection client = gateway.Connect();
        gateway.Advance(4000);
        await client.SendAsync(Handshake);
        await client.WaitForAsync(r => r.Contains("\"sid\"", StringComparison.Ordinal), "handshake answer");
        for (int i = 0; i < 4; i++)
        {
            gateway.Advance(1000); // 4 s after the answer, 8 s after the accept: still open
        }

        Assert.Equal(0, gateway.Runtime.Metrics.Refused(RefusalReason.RequestHeadTimeout));
        gateway.Advance(1000);
        Assert.Equal(1, gateway.Runtime.Metrics.Refused(RefusalReason.RequestHeadTimeout));
        await client.WaitEndedAsync("idle keep-alive connection");
    }

    [Fact]
    public async Task StalledBody_IsClosedWith408AtRequestBodyTimeout_AndItsReservationIsReleased()
    {
        using var gateway = new ConnectionHarness(o => o.Limits.RequestBodyTimeout = 30_000);
        TestConnection stalled = gateway.Connect();
        // Finding 2: Content-Length 999999, then 999,990 bytes and nothing more.
        await stalled.SendAsync(Encoding.ASCII.GetBytes(StalledPost(999_999)).Concat(new byte[999_990].Select(_ => (byte)'x')).ToArray());
        await WaitUntilAsync(() => gateway.Runtime.Admission.PendingBodyBytes == 999_999, "the body's reservation");
        for (int i = 0; i < 29; i++)
        {
            gateway.Advance(1000);
        }

        Assert.Equal(0, gateway.Runtime.Metrics.Refused(RefusalReason.RequestBodyTimeout));
        gateway.Advance(1000);
        Assert.Equal(1, gateway.Runtime.Metrics.Refused(RefusalReason.RequestBodyTimeout));
        await stalled.WaitEndedAsync("stalled body");
        Assert.StartsWith("HTTP/1.1 408 Request Timeout", stalled.Received, StringComparison.Ordinal);
        Assert.Equal(0, gateway.Runtime.Admission.PendingBodyBytes);
        Assert.Equal(0, gateway.Runtime.Admission.Connections);
    }

    [Fact]
    public async Task SlowBody_BelowMinRequestBodyDataRate_IsClosedOnceTheGracePeriodHasPassed()
    {
        using var gateway = new ConnectionHarness(o =>
        {
            o.Limits.MinRequestBodyDataRate = 240;
            o.Limits.RequestBodyGracePeriod = 5000;
        });
        TestConnection slow = gateway.Connect();
        await slow.SendAsync(StalledPost(10_000) + new string('x', 100));
        await WaitUntilAsync(() => gateway.Runtime.Admission.PendingBodyBytes == 10_000, "the body's reservation");
        for (int i = 0; i < 4; i++)
        {
            gateway.Advance(1000); // within the grace period
        }

        Assert.Equal(0, gateway.Runtime.Metrics.Refused(RefusalReason.RequestBodyTimeout));
        gateway.Advance(1000);
        gateway.Advance(1000); // 100 bytes in 5–6 s: under 240 B/s
        Assert.Equal(1, gateway.Runtime.Metrics.Refused(RefusalReason.RequestBodyTimeout));
        await slow.WaitEndedAsync("slow body");
        Assert.Equal(0, gateway.Runtime.Admission.PendingBodyBytes);
    }

    [Fact]
    public async Task IncompleteBodies_OverMaxPendingBodyBytes_Get503_TheFirstStays()
    {
        using var gateway = new ConnectionHarness(o =>
        {
            o.MaxPayload = 1000;
            o.Limits.MaxPendingBodyBytes = 1500;
        });
        TestConnection first = gateway.Connect();
        await first.SendAsync(StalledPost(1000) + "4");
        await WaitUntilAsync(() => gateway.Runtime.Admission.PendingBodyBytes == 1000, "the first body's reservation");

        TestConnection second = gateway.Connect();
        await second.SendAsync(StalledPost(1000) + "4");
        string refused = await second.WaitForAsync(r => r.Contains("\r\n\r\n", StringComparison.Ordinal) && r.EndsWith('}'), "the second body's refusal");
        Assert.StartsWith("HTTP/1.1 503 Service Unavailable\r\n", refused, StringComparison.Ordinal);
        Assert.EndsWith("{\"reason\":\"pending_body_bytes\"}", refused, StringComparison.Ordinal);
        AssertRetryAfter(refused, 5000);
        await second.WaitEndedAsync("refused body");
        Assert.Equal(1000, gateway.Runtime.Admission.PendingBodyBytes);
        Assert.False(first.Ended);

        // The first body completes: its reservation is released and it is answered (an unknown sid: 400).
        await first.SendAsync(new string('x', 999));
        await first.WaitForAsync(r => r.StartsWith("HTTP/1.1 400", StringComparison.Ordinal), "the first body's answer");
        Assert.Equal(0, gateway.Runtime.Admission.PendingBodyBytes);
    }

    [Fact]
    public async Task AtTheCap_ANewConnectionEvictsTheOldestThatSentNoHead()
    {
        using var gateway = new ConnectionHarness(maxConnections: 2);
        TestConnection oldest = gateway.Connect();
        gateway.Advance(10);
        TestConnection younger = gateway.Connect();
        gateway.Advance(Gateway.Transport.GatewayConnectionHandler.IdleBeforeEviction);
        TestConnection newcomer = gateway.Connect();

        await oldest.WaitEndedAsync("the oldest head-less connection");
        Assert.Equal("", oldest.Received);
        Assert.Equal(1, gateway.Runtime.Metrics.Refused(RefusalReason.EvictedIdle));
        Assert.Equal(0, gateway.Runtime.Metrics.Refused(RefusalReason.MaxConnections));
        Assert.False(younger.Ended);

        // The newcomer's handshake makes it a viewer (no longer head-less): the younger idle one stays.
        await newcomer.SendAsync(Handshake);
        await newcomer.WaitForAsync(r => r.Contains("\"sid\"", StringComparison.Ordinal), "the newcomer's handshake");
        Assert.False(younger.Ended);

        // Two head-less connections again (the younger one and the next): the one after evicts the younger.
        TestConnection next = gateway.Connect();
        Assert.False(younger.Ended);
        TestConnection last = gateway.Connect();
        await younger.WaitEndedAsync("the younger head-less connection");
        Assert.Equal(2, gateway.Runtime.Metrics.Refused(RefusalReason.EvictedIdle));
        Assert.False(next.Ended);
        Assert.False(last.Ended);
    }

    [Fact]
    public async Task HeadlessConnections_AtTheCap_ThoseNotYetIdleForASecondAreNotEvicted()
    {
        // A surge's arrivals have their heads on the way: none is closed to make room for the next one.
        using var gateway = new ConnectionHarness(maxConnections: 1);
        TestConnection first = gateway.Connect();
        gateway.Advance(Gateway.Transport.GatewayConnectionHandler.IdleBeforeEviction - 1);
        TestConnection second = gateway.Connect();
        await first.SendAsync(Handshake);
        await first.WaitForAsync(r => r.Contains("\"sid\"", StringComparison.Ordinal), "the first handshake");
        Assert.False(second.Ended);
        Assert.Equal(0, gateway.Runtime.Metrics.Refused(RefusalReason.EvictedIdle));
    }

    [Fact]
    public async Task AtTheCap_WithNoHeadlessConnection_SessionsCount_HandshakesAndConnectionsGet503WithRetryAfter()
    {
        using var gateway = new ConnectionHarness(o => o.Limits.RetryAfter = 4000, maxConnections: 2);
        // Two polling viewers: each is its session, its keep-alive connection is not counted a second time.
        string[] sids = new string[2];
        for (int i = 0; i < sids.Length; i++)
        {
            TestConnection viewer = gateway.Connect();
            await viewer.SendAsync(Handshake);
            sids[i] = Sid(await viewer.WaitForAsync(r => r.Contains("\"sid\"", StringComparison.Ordinal), "a viewer's handshake"));
        }

        Assert.Equal(2, gateway.Runtime.Admission.Viewers);

        // A viewer's second connection (a POST beside its long poll) is that viewer: served at a full cap.
        TestConnection post = gateway.Connect();
        await post.SendAsync($"POST /socket.io/?EIO=4&transport=polling&sid={sids[0]} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n6");
        await post.WaitForAsync(r => r.StartsWith("HTTP/1.1 200 OK", StringComparison.Ordinal) && r.EndsWith("ok", StringComparison.Ordinal), "the POST's answer");
        Assert.Equal(2, gateway.Runtime.Admission.Viewers);

        // A third viewer's handshake is refused.
        TestConnection late = gateway.Connect();
        await late.SendAsync(Handshake);
        string refused = await late.WaitForAsync(r => r.EndsWith('}'), "the refusal");
        Assert.StartsWith("HTTP/1.1 503 Service Unavailable\r\n", refused, StringComparison.Ordinal);
        Assert.EndsWith("{\"reason\":\"max_connections\"}", refused, StringComparison.Ordinal);
        AssertRetryAfter(refused, 4000);
        await late.WaitEndedAsync("refused handshake");
        Assert.Equal(2, gateway.Runtime.Metrics.PollingSessions);

        // A direct WebSocket handshake is refused the same way.
        TestConnection direct = gateway.Connect();
        await direct.SendAsync("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        refused = await direct.WaitForAsync(r => r.EndsWith('}'), "the refused upgrade");
        Assert.StartsWith("HTTP/1.1 503 Service Unavailable\r\n", refused, StringComparison.Ordinal);
        AssertRetryAfter(refused, 4000);
        Assert.Equal(2, gateway.Runtime.Metrics.Refused(RefusalReason.MaxConnections));
        Assert.Equal(2, gateway.Runtime.Admission.Viewers);
    }

    [Fact]
    public async Task PollingHandshake_OneConnectionOpeningSessions_EachSessionCounts()
    {
        // Handshakes pipelined on one connection: its slot goes to the first session, each further one needs room.
        using var gateway = new ConnectionHarness(maxConnections: 2);
        TestConnection pipeliner = gateway.Connect();
        await pipeliner.SendAsync(Handshake + Handshake + Handshake);
        await pipeliner.WaitEndedAsync("the connection refused its third session");
        Assert.Equal(2, Count(pipeliner.Received, "HTTP/1.1 200 OK"));
        Assert.EndsWith("{\"reason\":\"max_connections\"}", pipeliner.Received, StringComparison.Ordinal);
        Assert.Equal(2, gateway.Runtime.Metrics.PollingSessions);
        Assert.Equal(2, gateway.Runtime.Admission.Viewers);
    }

    private static string Sid(string handshakeAnswer)
    {
        int at = handshakeAnswer.IndexOf("\"sid\":\"", StringComparison.Ordinal) + 7;
        return handshakeAnswer[at..handshakeAnswer.IndexOf('"', at)];
    }

    [Fact]
    public async Task PipelinedHandshakes_OnOneConnection_OnlyAFewOpenSessions_ThenA503EndsIt()
    {
        using var gateway = new ConnectionHarness();
        TestConnection pipeliner = gateway.Connect();
        await pipeliner.SendAsync(string.Concat(Enumerable.Repeat(Handshake, 50)));
        await pipeliner.WaitEndedAsync("the pipelining connection");
        string received = pipeliner.Received;
        Assert.Equal(Admission.MaxHandshakesPerConnection, Count(received, "HTTP/1.1 200 OK"));
        Assert.Equal(1, Count(received, "HTTP/1.1 503 Service Unavailable"));
        Assert.EndsWith("{\"reason\":\"handshakes_per_connection\"}", received, StringComparison.Ordinal);
        Assert.Equal(Admission.MaxHandshakesPerConnection, gateway.Runtime.Metrics.PollingSessions);
        Assert.Equal(1, gateway.Runtime.Metrics.Refused(RefusalReason.HandshakesPerConnection));
    }

    [Fact]
    public async Task AcceptRate_BeyondTheBurst_HandshakesGet503_UntilTheBucketRefills()
    {
        using var gateway = new ConnectionHarness(o =>
        {
            o.Limits.AcceptRate = 1;
            o.Limits.AcceptBurst = 2;
        });
        for (int i = 0; i < 2; i++)
        {
            TestConnection accepted = gateway.Connect();
            await accepted.SendAsync(Handshake);
            await accepted.WaitForAsync(r => r.Contains("\"sid\"", StringComparison.Ordinal), $"handshake {i}");
        }

        TestConnection third = gateway.Connect();
        await third.SendAsync(Handshake);
        string refused = await third.WaitForAsync(r => r.EndsWith('}'), "the third handshake");
        Assert.StartsWith("HTTP/1.1 503 Service Unavailable\r\n", refused, StringComparison.Ordinal);
        Assert.EndsWith("{\"reason\":\"accept_rate\"}", refused, StringComparison.Ordinal);
        Assert.Equal(2, gateway.Runtime.Metrics.PollingSessions);

        gateway.Advance(1000); // one token
        TestConnection later = gateway.Connect();
        await later.SendAsync(Handshake);
        await later.WaitForAsync(r => r.Contains("\"sid\"", StringComparison.Ordinal), "the handshake a second later");
    }

    [Fact]
    public async Task MaxConnectionsPerIp_CountsConnectionsAndPollingSessionsOfOneAddress()
    {
        using var gateway = new ConnectionHarness(o => o.Limits.MaxConnectionsPerIp = 2);
        TestConnection first = gateway.Connect("10.0.0.1");
        await first.SendAsync(Handshake); // its connection and its polling session: 2
        await first.WaitForAsync(r => r.Contains("\"sid\"", StringComparison.Ordinal), "the first handshake");

        TestConnection second = gateway.Connect("10.0.0.1");
        string refused = await second.WaitForAsync(r => r.EndsWith('}'), "the second connection of the address");
        Assert.EndsWith("{\"reason\":\"max_connections_per_ip\"}", refused, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 503 Service Unavailable\r\n", refused, StringComparison.Ordinal);

        TestConnection other = gateway.Connect("10.0.0.2");
        await other.SendAsync(Handshake);
        await other.WaitForAsync(r => r.Contains("\"sid\"", StringComparison.Ordinal), "another address");

        // The first connection goes; its session stays (1 of 2): the viewer's next connection fits and is served.
        string sid = System.Text.RegularExpressions.Regex.Match(first.Received, "\"sid\":\"([^\"]+)\"").Groups[1].Value;
        first.Close();
        await first.WaitEndedAsync("the first connection");
        TestConnection next = gateway.Connect("10.0.0.1");
        await next.SendAsync($"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n6");
        await next.WaitForAsync(r => r.EndsWith("ok", StringComparison.Ordinal) || r.EndsWith('}'), "the viewer's next request");
        Assert.StartsWith("HTTP/1.1 200 OK", next.Received, StringComparison.Ordinal);

        // But a second session of the address does not (connection + session + the new one).
        await next.SendAsync(Handshake);
        refused = await next.WaitForAsync(r => r.EndsWith('}'), "a second session of the address");
        Assert.EndsWith("{\"reason\":\"max_connections_per_ip\"}", refused, StringComparison.Ordinal);
        Assert.Equal(2, gateway.Runtime.Metrics.Refused(RefusalReason.MaxConnectionsPerIp));
        Assert.Equal(2, gateway.Runtime.Metrics.PollingSessions);
    }

    [Theory]
    [InlineData("Origin: http://evil.example\r\n", "403 Forbidden")]
    [InlineData("Origin: http://allowed.example\r\n", "101 Switching Protocols")]
    [InlineData("", "101 Switching Protocols")]
    public async Task WebSocketUpgrade_FromAForeignOrigin_Gets403(string originHeader, string status)
    {
        using var gateway = new ConnectionHarness(o => o.Cors.Origins.Add("http://allowed.example"));
        TestConnection client = gateway.Connect();
        await client.SendAsync("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            originHeader + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        string answer = await client.WaitForAsync(r => r.Contains("\r\n\r\n", StringComparison.Ordinal), "the upgrade's answer");
        Assert.StartsWith("HTTP/1.1 " + status, answer, StringComparison.Ordinal);
        Assert.Equal(status.StartsWith("403", StringComparison.Ordinal) ? 1 : 0, gateway.Runtime.Metrics.Refused(RefusalReason.Origin));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            Assert.False(deadline.IsCancellationRequested, $"{what}: not so within 30 s");
            await Task.Delay(5);
        }
    }
}
