using System.IO.Pipelines;
using Gateway.EngineIO;
using Gateway.Protocol.WebSockets;

namespace Gateway.Tests.EngineIO;

/// <summary>
/// Every way a session ends: what the client gets (a held poll's last answer, a close frame or nothing), and that
/// the session leaves the sid table and is counted under its reason.
/// </summary>
public class ClosePathTests
{
    [Fact]
    public void OnPollData_ClosePacket_EndsTheHeldPollWithANoopAndClosesWithClientClose()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        (_, RecordingPollingRequest held) = SessionHarness.Get(session);

        // The POST itself is answered "ok" by the HTTP loop (Answered, not BadRequest).
        Assert.Equal(EngineSession.PollOutcome.Answered, SessionHarness.Post(session, "1"));

        Assert.Equal("6", held.SingleBody);
        Assert.True(session.IsClosed);
        Assert.False(harness.IsRegistered(session));
        Assert.Equal(1, harness.ClosedFor(CloseReason.ClientClose));
        Assert.Equal(0, harness.Runtime.Metrics.PollingSessions);
    }

    [Fact]
    public void OnWebSocketMessage_ClosePacket_AnswersWithACloseFrameAndClosesWithClientClose()
    {
        using var harness = new SessionHarness();
        (EngineSession session, Pipe output) = harness.OpenWebSocket();
        SessionHarness.Send(session, "40");
        SessionHarness.ReadFrames(output);

        SessionHarness.Send(session, "1");

        (WebSocketOpcode opcode, _) = Assert.Single(SessionHarness.ReadFrames(output));
        Assert.Equal(WebSocketOpcode.Close, opcode);
        Assert.True(session.IsClosed);
        Assert.Equal(1, harness.ClosedFor(CloseReason.ClientClose));
        Assert.Equal(0, harness.Runtime.Metrics.WebSocketSessions);
    }

    [Fact]
    public void OnTransportClosed_WebSocketSession_ClosesWithoutWritingAndIsCounted()
    {
        using var harness = new SessionHarness();
        (EngineSession session, Pipe output) = harness.OpenWebSocket();
        SessionHarness.Send(session, "40");
        SessionHarness.ReadFrames(output);

        session.OnTransportClosed(CloseReason.TransportClosed);

        Assert.True(session.IsClosed);
        Assert.Empty(SessionHarness.ReadFrames(output));
        Assert.Equal(1, harness.ClosedFor(CloseReason.TransportClosed));
        // Nothing more reaches it.
        harness.Broadcast("2[\"prompt\",\"a\"]", "p1");
        Assert.Empty(SessionHarness.ReadFrames(output));
    }

    [Fact]
    public void OnTransportClosed_UpgradedSession_LeavesTheSidTable()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        var probe = new FakeUpgradeProbe();
        Assert.True(session.TryBeginProbe(probe));
        Assert.True(probe.CompleteUpgrade(session));
        Assert.True(harness.IsRegistered(session));

        session.OnTransportClosed(CloseReason.TransportClosed);

        Assert.True(session.IsClosed);
        Assert.False(harness.IsRegistered(session));
        Assert.Equal(1, harness.ClosedFor(CloseReason.TransportClosed));
        Assert.Equal(0, harness.Runtime.Metrics.WebSocketSessions);
    }

    [Fact]
    public void OnTimer_PollingSessionSilentAfterAPing_ClosesWithPingTimeoutAndEndsTheHeldPollWithClose()
    {
        using var harness = new SessionHarness(o => { o.PingInterval = 300; o.PingTimeout = 200; });
        EngineSession session = harness.OpenConnectedPolling();
        harness.Advance(300);
        Assert.Equal("2", SessionHarness.Get(session).Request.SingleBody);
        (_, RecordingPollingRequest held) = SessionHarness.Get(session);

        harness.Advance(198);
        Assert.False(session.IsClosed);
        harness.Advance(2);

        Assert.True(session.IsClosed);
        Assert.Equal("1", held.SingleBody);
        Assert.False(harness.IsRegistered(session));
        Assert.Equal(1, harness.ClosedFor(CloseReason.PingTimeout));
        Assert.Equal(1, harness.Runtime.Metrics.HeartbeatTimeouts);
    }

    [Fact]
    public void ExpireIfOverdue_PollingSessionPastItsDeadlineBeforeTheWheelTicks_ClosesWithPingTimeout()
    {
        using var harness = new SessionHarness(o => { o.PingInterval = 300; o.PingTimeout = 200; });
        EngineSession session = harness.OpenConnectedPolling();

        // The clock moves, the wheel does not run: a request arriving now must not find the session alive.
        harness.Time.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(session.ExpireIfOverdue());
        harness.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(session.ExpireIfOverdue());

        Assert.False(harness.IsRegistered(session));
        Assert.Equal(1, harness.ClosedFor(CloseReason.PingTimeout));
    }

    [Fact]
    public void CloseAll_PollingSessionWithAHeldPoll_AnswersItWithTheClosePacket()
    {
        using var harness = new SessionHarness();
        EngineSession polling = harness.OpenConnectedPolling();
        (_, RecordingPollingRequest held) = SessionHarness.Get(polling);
        (EngineSession webSocket, Pipe output) = harness.OpenWebSocket();
        SessionHarness.ReadFrames(output);

        Assert.Equal(2, harness.Runtime.CloseAll(CloseReason.ServerShutdown));

        Assert.Equal("1", held.SingleBody);
        Assert.True(polling.IsClosed);
        Assert.False(harness.IsRegistered(polling));
        (WebSocketOpcode opcode, _) = Assert.Single(SessionHarness.ReadFrames(output));
        Assert.Equal(WebSocketOpcode.Close, opcode);
        Assert.True(webSocket.IsClosed);
        Assert.Equal(2, harness.ClosedFor(CloseReason.ServerShutdown));
        // Closed sessions are not closed twice.
        Assert.Equal(0, harness.Runtime.CloseAll(CloseReason.ServerShutdown));
    }

    [Fact]
    public void CloseAll_PollingSessionWithRecordsQueued_DropsThemForTheNextPollsRefusal()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        harness.Broadcast("2[\"prompt\",\"a\"]", "p1");

        Assert.Equal(1, harness.Runtime.CloseAll(CloseReason.AdminDisconnect));

        Assert.Equal(EngineSession.PollOutcome.BadRequest, SessionHarness.Get(session).Outcome);
        Assert.Equal(1, harness.ClosedFor(CloseReason.AdminDisconnect));
    }

    [Fact]
    public void Close_Twice_IsCountedOnce()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();

        Assert.True(session.Close(CloseReason.AdminDisconnect, clientInitiated: false));
        Assert.False(session.Close(CloseReason.ServerShutdown, clientInitiated: false));
        session.OnTransportClosed(CloseReason.TransportClosed);

        Assert.Equal(1, harness.ClosedFor(CloseReason.AdminDisconnect));
        Assert.Equal(0, harness.ClosedFor(CloseReason.ServerShutdown));
        Assert.Equal(0, harness.ClosedFor(CloseReason.TransportClosed));
        Assert.Equal(0, harness.Runtime.Metrics.PollingSessions);
    }
}
