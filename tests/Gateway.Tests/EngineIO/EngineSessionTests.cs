using System.IO.Pipelines;
using Gateway.Broadcast;
using Gateway.EngineIO;
using Gateway.Protocol.WebSockets;

namespace Gateway.Tests.EngineIO;

/// <summary>The session state machine in process: a real session on a pipe, the wheel on a fake clock.</summary>
public class EngineSessionTests
{
    [Fact]
    public void Heartbeat_PongKeepsTheSession_SilenceClosesItAfterPingTimeout()
    {
        using var harness = new SessionHarness(o => { o.PingInterval = 300; o.PingTimeout = 200; });
        (EngineSession session, Pipe output) = harness.OpenWebSocket();
        SessionHarness.Send(session, "40");
        Assert.StartsWith("0{\"sid\"", SessionHarness.ReadFrames(output)[0].Text);

        harness.Advance(299);
        Assert.Empty(SessionHarness.ReadFrames(output));
        harness.Advance(1);
        Assert.Equal([(WebSocketOpcode.Text, "2")], SessionHarness.ReadFrames(output));

        // Answered just before the timeout: the next ping comes an interval after the pong. (The wheel ticks every
        // 2 ms here, 1 % of the shortest period; the steps below land on tick boundaries.)
        harness.Advance(198);
        SessionHarness.Send(session, "3");
        harness.Advance(2);
        Assert.False(session.IsClosed);
        harness.Advance(296);
        Assert.Empty(SessionHarness.ReadFrames(output));
        harness.Advance(2);
        Assert.Equal([(WebSocketOpcode.Text, "2")], SessionHarness.ReadFrames(output));

        // Silence: closed exactly PingTimeout after that ping, with a normal close frame.
        harness.Advance(198);
        Assert.False(session.IsClosed);
        harness.Advance(2);
        Assert.True(session.IsClosed);
        (WebSocketOpcode opcode, _) = Assert.Single(SessionHarness.ReadFrames(output));
        Assert.Equal(WebSocketOpcode.Close, opcode);
        Assert.Equal(1, harness.Runtime.Metrics.HeartbeatTimeouts);
    }

    [Fact]
    public void Heartbeat_TickLateByMoreThanPingTimeout_StillGivesTheClientAFullPingTimeout()
    {
        using var harness = new SessionHarness(o => { o.PingInterval = 300; o.PingTimeout = 200; });
        (EngineSession session, Pipe output) = harness.OpenWebSocket();
        SessionHarness.Send(session, "40");
        SessionHarness.ReadFrames(output);

        // The wheel's thread was starved: the tick that sends the ping comes 500 ms late.
        harness.Advance(800);
        Assert.Equal([(WebSocketOpcode.Text, "2")], SessionHarness.ReadFrames(output));
        Assert.False(session.IsClosed);
        harness.Advance(199);
        Assert.False(session.IsClosed);
        harness.Advance(1);
        Assert.True(session.IsClosed);
    }

    [Fact]
    public void ConnectTimeout_NoSocketIOConnect_ClosesTheSession()
    {
        using var harness = new SessionHarness(o => { o.ConnectTimeout = 1000; o.PingInterval = 25_000; });
        (EngineSession session, _) = harness.OpenWebSocket();

        harness.Advance(999);
        Assert.False(session.IsClosed);
        harness.Advance(1);
        Assert.True(session.IsClosed);
    }

    [Fact]
    public void Broadcast_ToAChannelTheSocketIsNotIn_IsNotDelivered_TheSentinelBehindItIs()
    {
        using var harness = new SessionHarness();
        (EngineSession session, Pipe output) = harness.OpenWebSocket();
        SessionHarness.Send(session, "40");
        SessionHarness.ReadFrames(output);
        long[] other = new long[1];
        Assert.Equal(ChannelRefusal.None, harness.Runtime.Channels.TryJoin(["other"], newAllowed: 1, other, out _));

        harness.Runtime.Broadcaster.PublishPacket(0, other[0], "2[\"prompt\",\"not for you\"]"u8, "p1");
        harness.Runtime.Broadcaster.PublishPacket(0, -1, "2[\"prompt\",\"sentinel\"]"u8, "p2");
        harness.Runtime.FanOut.PassAll();

        Assert.Equal([(WebSocketOpcode.Text, "42[\"prompt\",\"sentinel\"]")], SessionHarness.ReadFrames(output));
    }

    [Fact]
    public void Broadcast_TransportBackedUp_ClosedAsSlowConsumerOnceItsQueuePassesMaxOutboundBytes_WhateverTheRingCapacity()
    {
        using var harness = new SessionHarness(o => { o.RingCapacity = 1 << 16; o.MaxOutboundBytes = 4096; });
        // A tiny pipe nobody reads: the first flush stays pending, so everything after it queues in the session's pipe.
        (EngineSession stalled, _) = harness.OpenWebSocket(new PipeOptions(pauseWriterThreshold: 64, resumeWriterThreshold: 32, useSynchronizationContext: false));
        SessionHarness.Send(stalled, "40");
        (EngineSession healthy, Pipe healthyOutput) = harness.OpenWebSocket();
        SessionHarness.Send(healthy, "40");
        SessionHarness.ReadFrames(healthyOutput);

        // 100 bytes a prompt (2 of frame header): 40 of them and the CONNECT reply fit under the cap, the 41st does
        // not — long before the ring (65,536 slots) could lap anyone.
        string text = new('x', 100 - 2 - "42[\"p\",\"\"]".Length);
        int received = 0;
        for (int i = 1; i <= 60; i++)
        {
            harness.Runtime.Broadcaster.PublishPacket(0, -1, System.Text.Encoding.UTF8.GetBytes($"2[\"p\",\"{text}\"]"), "p" + i);
            harness.Runtime.FanOut.PassAll();
            received += SessionHarness.ReadFrames(healthyOutput).Count(frame => frame.Text.StartsWith("42[\"p\"", StringComparison.Ordinal));
            Assert.Equal(i > 40, stalled.IsClosed);
        }

        Assert.Equal(60, received);
        Assert.False(healthy.IsClosed);
        Assert.Equal(1, harness.Runtime.Metrics.SlowConsumers);
        Assert.Equal(1, harness.ClosedFor(CloseReason.SlowConsumer));
    }

    [Fact]
    public void Broadcast_PollingSessionNeverPolls_ClosedAsSlowConsumerOnceItsQueuePassesMaxOutboundBytes()
    {
        using var harness = new SessionHarness(o => { o.RingCapacity = 1 << 16; o.MaxOutboundBytes = 4096; });
        EngineSession idle = harness.OpenConnectedPolling();
        string text = new('x', 99 - "42[\"p\",\"\"]".Length); // "42[…]": 99 bytes a record, 100 with its separator
        for (int i = 1; i <= 60; i++)
        {
            harness.Broadcast($"2[\"p\",\"{text}\"]", "p" + i);
            Assert.Equal(i * 100 - 1 > 4096, idle.IsClosed);
        }

        Assert.False(harness.IsRegistered(idle));
        Assert.Equal(1, harness.Runtime.Metrics.SlowConsumers);
    }

    [Fact]
    public void Poll_AnswersPileUpUnreadInTheConnection_SlowConsumerAndTheConnectionIsEnded()
    {
        using var harness = new SessionHarness(o => o.MaxOutboundBytes = 4096);
        EngineSession session = harness.OpenConnectedPolling();
        harness.Broadcast("2[\"p\",1]", "p1");
        var request = new RecordingPollingRequest { Unread = 5000 }; // its peer read none of the answers it asked for
        Assert.Equal(EngineSession.PollOutcome.Answered, session.OnPollRequest(request));
        Assert.True(session.IsClosed);
        Assert.Equal(1, request.Aborts);
        Assert.Equal(1, harness.Runtime.Metrics.SlowConsumers);
    }
}
