using System.IO.Pipelines;
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
        int otherChannel = harness.Runtime.Channels.GetOrAdd("other");
        Assert.True(otherChannel >= 0);

        harness.Runtime.Broadcaster.PublishPacket(0, otherChannel, "2[\"prompt\",\"not for you\"]"u8, "p1");
        harness.Runtime.Broadcaster.PublishPacket(0, -1, "2[\"prompt\",\"sentinel\"]"u8, "p2");
        harness.Runtime.FanOut.PassAll();

        Assert.Equal([(WebSocketOpcode.Text, "42[\"prompt\",\"sentinel\"]")], SessionHarness.ReadFrames(output));
    }

    [Fact]
    public void Broadcast_SessionBlockedByBackpressureFallsAWholeRingBehind_IsClosedAsASlowConsumer()
    {
        using var harness = new SessionHarness(o => o.RingCapacity = 16);
        // A tiny pipe nobody reads: the first flush stays pending and the session stops taking broadcasts.
        (EngineSession session, _) = harness.OpenWebSocket(new PipeOptions(pauseWriterThreshold: 64, resumeWriterThreshold: 32, useSynchronizationContext: false));
        SessionHarness.Send(session, "40");
        var up = new EngineSession(harness.Runtime, webSocket: true, new Pipe(new PipeOptions(pauseWriterThreshold: 0)).Writer, input: null);
        up.Start();
        SessionHarness.Send(up, "40");

        byte[] prompt = "2[\"prompt\",\"0123456789012345678901234567890123456789012345678901234567890123456789\"]"u8.ToArray();
        for (int i = 0; i < 17; i++)
        {
            harness.Runtime.Broadcaster.PublishPacket(0, -1, prompt, "p" + i);
            harness.Runtime.FanOut.PassAll();
        }

        Assert.True(session.IsClosed);
        Assert.False(up.IsClosed);
        Assert.Equal(1, harness.Runtime.Metrics.SlowConsumers);
    }
}
