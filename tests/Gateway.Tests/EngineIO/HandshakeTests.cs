using System.IO.Pipelines;
using System.Text.Json;
using Gateway.EngineIO;
using Gateway.Protocol.WebSockets;

namespace Gateway.Tests.EngineIO;

/// <summary>The Engine.IO open packet of each kind of session, and what the handshake registers.</summary>
public class HandshakeTests
{
    [Fact]
    public void OpenPolling_Handshake_OpenPacketOffersWebSocketAndCarriesTheOptions()
    {
        using var harness = new SessionHarness(o => { o.PingInterval = 300; o.PingTimeout = 200; o.MaxPayload = 12345; });
        (EngineSession session, string open) = harness.OpenPolling();

        Assert.StartsWith("0{", open);
        using JsonDocument body = JsonDocument.Parse(open.AsMemory(1));
        JsonElement root = body.RootElement;
        Assert.Equal(session.Sid, root.GetProperty("sid").GetString());
        Assert.Equal(["websocket"], root.GetProperty("upgrades").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(300, root.GetProperty("pingInterval").GetInt32());
        Assert.Equal(200, root.GetProperty("pingTimeout").GetInt32());
        Assert.Equal(12345, root.GetProperty("maxPayload").GetInt32());

        // Addressable by sid, counted as a polling session, nothing queued yet.
        Assert.True(harness.IsRegistered(session));
        Assert.Equal(1, harness.Runtime.Metrics.PollingSessions);
        Assert.Equal(EngineSession.PollOutcome.Parked, SessionHarness.Get(session).Outcome);
    }

    [Fact]
    public void OpenWebSocket_Handshake_FirstMessageIsAnOpenPacketWithNoUpgrades()
    {
        using var harness = new SessionHarness(o => { o.PingInterval = 300; o.PingTimeout = 200; o.MaxPayload = 12345; });
        (EngineSession session, Pipe output) = harness.OpenWebSocket();

        (WebSocketOpcode opcode, string open) = Assert.Single(SessionHarness.ReadFrames(output));
        Assert.Equal(WebSocketOpcode.Text, opcode);
        Assert.StartsWith("0{", open);
        using JsonDocument body = JsonDocument.Parse(open.AsMemory(1));
        JsonElement root = body.RootElement;
        Assert.Equal(session.Sid, root.GetProperty("sid").GetString());
        Assert.Empty(root.GetProperty("upgrades").EnumerateArray());
        Assert.Equal(300, root.GetProperty("pingInterval").GetInt32());
        Assert.Equal(200, root.GetProperty("pingTimeout").GetInt32());
        Assert.Equal(12345, root.GetProperty("maxPayload").GetInt32());

        // A direct WebSocket session is never addressed by sid.
        Assert.False(harness.IsRegistered(session));
        Assert.Equal(1, harness.Runtime.Metrics.WebSocketSessions);
    }

    [Fact]
    public void OpenPolling_TwoHandshakes_GetDistinctSids()
    {
        using var harness = new SessionHarness();
        (EngineSession first, _) = harness.OpenPolling();
        (EngineSession second, _) = harness.OpenPolling();

        Assert.NotEqual(first.Sid, second.Sid);
        Assert.True(harness.IsRegistered(first));
        Assert.True(harness.IsRegistered(second));
    }
}
