using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Gateway.EngineIO;
using Gateway.Output;
using Gateway.Protocol.WebSockets;
using Gateway.Transport;
using Microsoft.AspNetCore.Connections;

namespace Gateway.Tests.EngineIO;

/// <summary>
/// Polling → WebSocket: the probe ("2probe" / "3probe", the held poll ended with a noop, "5"), what crosses the
/// switch, and the probes that never finish (their connection ends, or the upgrade times out).
/// </summary>
public class UpgradeTests
{
    [Fact]
    public void CompleteUpgrade_BroadcastPublishedDuringTheProbe_ReachesTheWebSocketOnceBeforeTheSentinel()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        (_, RecordingPollingRequest held) = SessionHarness.Get(session);
        var probe = new FakeUpgradeProbe();

        Assert.True(session.TryBeginProbe(probe));
        session.OnProbe(probe);
        // The held poll ends with a noop so that the client can pause polling.
        Assert.Equal("6", held.SingleBody);

        // Published while the client sends no GET (paused) and before "5": queued for polling.
        harness.Broadcast("2[\"prompt\",\"during\"]", "p1");
        Assert.Empty(SessionHarness.ReadFrames(probe.Output));

        Assert.True(probe.CompleteUpgrade(session));
        Assert.True(session.IsWebSocket);
        harness.Broadcast("2[\"prompt\",\"sentinel\"]", "p2");

        Assert.Equal(
            [(WebSocketOpcode.Text, "42[\"prompt\",\"during\"]"), (WebSocketOpcode.Text, "42[\"prompt\",\"sentinel\"]")],
            SessionHarness.ReadFrames(probe.Output));
        Assert.Single(held.Responses);
        Assert.False(probe.Closed);
        // A poll now is a transport mismatch.
        Assert.Equal(EngineSession.PollOutcome.BadRequest, SessionHarness.Get(session).Outcome);
        Assert.Equal(1, harness.Runtime.Metrics.WebSocketSessions);
        Assert.Equal(0, harness.Runtime.Metrics.PollingSessions);
    }

    [Fact]
    public void CompleteUpgrade_BroadcastTakenByAPollDuringTheProbe_IsNotSentAgainOnTheWebSocket()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        var probe = new FakeUpgradeProbe();
        Assert.True(session.TryBeginProbe(probe));
        session.OnProbe(probe);

        // The client's last GET was already on its way: it takes what is queued.
        harness.Broadcast("2[\"prompt\",\"during\"]", "p1");
        Assert.Equal("42[\"prompt\",\"during\"]", SessionHarness.Get(session).Request.SingleBody);
        Assert.True(probe.CompleteUpgrade(session));
        harness.Broadcast("2[\"prompt\",\"sentinel\"]", "p2");

        Assert.Equal([(WebSocketOpcode.Text, "42[\"prompt\",\"sentinel\"]")], SessionHarness.ReadFrames(probe.Output));
    }

    [Fact]
    public void OnPollRequest_DuringTheProbeWithNothingQueued_IsAnsweredWithANoopAtOnce()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        var probe = new FakeUpgradeProbe();
        Assert.True(session.TryBeginProbe(probe));

        (EngineSession.PollOutcome outcome, RecordingPollingRequest get) = SessionHarness.Get(session);

        Assert.Equal(EngineSession.PollOutcome.Answered, outcome);
        Assert.Equal("6", get.SingleBody);
    }

    [Fact]
    public void CompleteUpgrade_PingQueuedDuringTheProbe_MovesToTheWebSocket()
    {
        using var harness = new SessionHarness(o => { o.PingInterval = 300; o.PingTimeout = 200; o.UpgradeTimeout = 10_000; });
        EngineSession session = harness.OpenConnectedPolling();
        var probe = new FakeUpgradeProbe();
        Assert.True(session.TryBeginProbe(probe));
        session.OnProbe(probe);
        harness.Advance(300);

        Assert.True(probe.CompleteUpgrade(session));

        Assert.Equal([(WebSocketOpcode.Text, "2")], SessionHarness.ReadFrames(probe.Output));
        // Answered on the new transport, the heartbeat goes on there.
        SessionHarness.Send(session, "3");
        harness.Advance(300);
        Assert.False(session.IsClosed);
        Assert.Equal([(WebSocketOpcode.Text, "2")], SessionHarness.ReadFrames(probe.Output));
    }

    [Fact]
    public void TryBeginProbe_WhileAnotherProbes_IsRefused()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        var first = new FakeUpgradeProbe();
        var second = new FakeUpgradeProbe();

        Assert.True(session.TryBeginProbe(first));
        Assert.False(session.TryBeginProbe(second));

        // The second cannot complete the upgrade either; the first still can.
        Assert.False(second.CompleteUpgrade(session));
        Assert.True(first.CompleteUpgrade(session));
    }

    [Fact]
    public void AbortUpgrade_ProbeEndsBeforeTheUpgradePacket_LeavesTheSessionOnPolling()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        var probe = new FakeUpgradeProbe();
        Assert.True(session.TryBeginProbe(probe));
        session.OnProbe(probe);

        session.AbortUpgrade(probe);

        // A "5" racing in behind it is refused; polling carries on.
        Assert.False(probe.CompleteUpgrade(session));
        Assert.False(session.IsWebSocket);
        Assert.False(session.IsClosed);
        Assert.True(harness.IsRegistered(session));
        (EngineSession.PollOutcome outcome, RecordingPollingRequest get) = SessionHarness.Get(session);
        Assert.Equal(EngineSession.PollOutcome.Parked, outcome);
        harness.Broadcast("2[\"prompt\",\"a\"]", "p1");
        Assert.Equal("42[\"prompt\",\"a\"]", get.SingleBody);
        Assert.Empty(SessionHarness.ReadFrames(probe.Output));
        // And a later probe may upgrade it.
        var again = new FakeUpgradeProbe();
        Assert.True(session.TryBeginProbe(again));
        Assert.True(again.CompleteUpgrade(session));
    }

    [Fact]
    public void AbortUpgrade_HeldPollsConnectionEndedDuringTheProbe_LeavesTheSessionOpen()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        (_, RecordingPollingRequest held) = SessionHarness.Get(session);
        var probe = new FakeUpgradeProbe();
        Assert.True(session.TryBeginProbe(probe));

        // While probing, the held poll's connection ending is not a transport error.
        session.OnPollConnectionClosed(held);
        Assert.False(session.IsClosed);
        session.AbortUpgrade(probe);

        Assert.False(session.IsClosed);
        Assert.Equal(EngineSession.PollOutcome.Parked, SessionHarness.Get(session).Outcome);
    }

    [Fact]
    public void OnTimer_ProbeNotCompletedWithinUpgradeTimeout_ClosesTheProbe()
    {
        using var harness = new SessionHarness(o => { o.PingInterval = 25_000; o.PingTimeout = 20_000; o.UpgradeTimeout = 10_000; });
        EngineSession session = harness.OpenConnectedPolling();
        harness.Advance(1_000);
        var probe = new FakeUpgradeProbe();
        Assert.True(session.TryBeginProbe(probe));
        session.OnProbe(probe);

        harness.Advance(9_900);
        Assert.False(probe.Closed);
        harness.Advance(100);

        Assert.Equal([WebSocketCloseCode.NormalClosure], probe.Closes);
        Assert.False(probe.CompleteUpgrade(session));
        Assert.False(session.IsClosed);
        Assert.False(session.IsWebSocket);
        Assert.True(harness.IsRegistered(session));
    }

    [Fact]
    public void OnRead_ProbeThroughAWebSocketConnection_Answers3probeEndsTheHeldPollAndUpgradesOn5()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        (_, RecordingPollingRequest held) = SessionHarness.Get(session);
        var toClient = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        var fromClient = new Pipe(new PipeOptions(useSynchronizationContext: false));
        var connection = new WebSocketConnection(
            harness.Runtime,
            new DefaultConnectionContext("probe", new DuplexPipe(fromClient.Reader, toClient.Writer), new DuplexPipe(toClient.Reader, fromClient.Writer)),
            new ConnectionOutput(toClient.Writer, owner: null),
            session: null);
        Assert.True(session.TryBeginProbe(connection));
        connection.SetProbeTarget(session);

        Assert.False(Feed(connection, "2probe"));
        Assert.Equal([(WebSocketOpcode.Text, "3probe")], SessionHarness.ReadFrames(toClient));
        Assert.Equal("6", held.SingleBody);

        harness.Broadcast("2[\"prompt\",\"during\"]", "p1");
        Assert.False(Feed(connection, "5"));
        harness.Broadcast("2[\"prompt\",\"sentinel\"]", "p2");

        Assert.True(session.IsWebSocket);
        Assert.Equal(
            [(WebSocketOpcode.Text, "42[\"prompt\",\"during\"]"), (WebSocketOpcode.Text, "42[\"prompt\",\"sentinel\"]")],
            SessionHarness.ReadFrames(toClient));
        // The connection now carries the session: a close packet on it ends the session.
        Assert.True(Feed(connection, "1"));
        Assert.True(session.IsClosed);
        Assert.False(harness.IsRegistered(session));
        Assert.Equal(1, harness.ClosedFor(CloseReason.ClientClose));
    }

    [Fact]
    public void OnEnded_ProbeConnectionEndsBeforeTheUpgradePacket_LeavesTheSessionOnPolling()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        var toClient = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        var fromClient = new Pipe(new PipeOptions(useSynchronizationContext: false));
        var connection = new WebSocketConnection(
            harness.Runtime,
            new DefaultConnectionContext("probe", new DuplexPipe(fromClient.Reader, toClient.Writer), new DuplexPipe(toClient.Reader, fromClient.Writer)),
            new ConnectionOutput(toClient.Writer, owner: null),
            session: null);
        Assert.True(session.TryBeginProbe(connection));
        connection.SetProbeTarget(session);
        Assert.False(Feed(connection, "2probe"));

        connection.OnEnded();

        Assert.False(session.IsClosed);
        Assert.False(session.IsWebSocket);
        (_, RecordingPollingRequest get) = SessionHarness.Get(session);
        harness.Broadcast("2[\"prompt\",\"a\"]", "p1");
        Assert.Equal("42[\"prompt\",\"a\"]", get.SingleBody);
    }

    /// <summary>One client text frame (FIN, masked with a zero key, so the payload reads as is). True: the connection ends.</summary>
    private static bool Feed(WebSocketConnection connection, string text)
    {
        byte[] payload = Encoding.UTF8.GetBytes(text);
        Assert.True(payload.Length < 126);
        byte[] frame = new byte[6 + payload.Length];
        frame[0] = 0x81;                         // FIN + text
        frame[1] = (byte)(0x80 | payload.Length); // MASK + 7-bit length
        // bytes 2..5: the mask key, zero
        payload.CopyTo(frame, 6);
        var buffer = new ReadOnlySequence<byte>(frame);
        bool ends = connection.OnRead(ref buffer, canceled: false);
        Assert.True(buffer.IsEmpty);
        return ends;
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
