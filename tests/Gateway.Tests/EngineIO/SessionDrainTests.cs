using System.IO.Pipelines;
using Gateway.EngineIO;
using Gateway.Protocol.WebSockets;

namespace Gateway.Tests.EngineIO;

/// <summary>
/// The paced drain on a real runtime and a fake clock: nothing closes during the delay, then close i of N happens at
/// Delay + Window·i/N exactly, in random order; undrain stops it and the sockets left keep their prompts.
/// </summary>
public class SessionDrainTests
{
    private static SessionHarness Harness(int delayMs, int windowMs) =>
        new(o => { o.Drain.Delay = delayMs; o.Drain.Window = windowMs; o.PingInterval = 600_000; o.PingTimeout = 600_000; o.ConnectTimeout = 600_000; });

    private static EngineSession[] OpenPolling(SessionHarness harness, int count) =>
        Enumerable.Range(0, count).Select(_ => harness.OpenPolling().Session).ToArray();

    /// <summary>A harness with <paramref name="count"/> polling sessions open and an operator's drain begun.</summary>
    private static (SessionHarness Harness, EngineSession[] Sessions) Draining(int delayMs, int windowMs, int count)
    {
        SessionHarness harness = Harness(delayMs, windowMs);
        EngineSession[] sessions = OpenPolling(harness, count);
        Assert.True(harness.Runtime.Drain.Begin(forShutdown: false));
        return (harness, sessions);
    }

    private static (EngineSession Session, Pipe Output)[] OpenConnectedWebSockets(SessionHarness harness, int count)
    {
        var sockets = new (EngineSession, Pipe)[count];
        for (int i = 0; i < count; i++)
        {
            (EngineSession session, Pipe output) = harness.OpenWebSocket();
            SessionHarness.Send(session, "40");
            SessionHarness.ReadFrames(output);
            sockets[i] = (session, output);
        }

        return sockets;
    }

    [Fact]
    public void Begin_RefusesNewSessionsAtOnce_AndClosesNothingBeforeTheDelayEnds()
    {
        using SessionHarness harness = Harness(delayMs: 5000, windowMs: 30_000);
        EngineSession[] sessions = OpenPolling(harness, 10);
        SessionDrain drain = harness.Runtime.Drain;
        Assert.False(drain.RefusesSessions);

        Assert.True(drain.Begin(forShutdown: false));

        Assert.True(drain.RefusesSessions);
        Assert.Equal(DrainState.Waiting, drain.State);
        Assert.Equal(new DrainProgress(DrainState.Waiting, 10, 0, false), drain.Progress);
        harness.Time.Advance(TimeSpan.FromMilliseconds(4999));
        Assert.All(sessions, s => Assert.False(s.IsClosed));
        Assert.Equal(DrainState.Waiting, drain.State);

        // The delay's end is close 0's turn.
        harness.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(DrainState.Closing, drain.State);
        Assert.Single(sessions, s => s.IsClosed);
        Assert.Equal(1, harness.ClosedFor(CloseReason.Drained));
    }

    [Fact]
    public void Closing_CloseIOfN_HappensAtDelayPlusWindowTimesIOverN_ToTheMillisecond()
    {
        // 7 over 1000 ms: turns at 0, 142.86, 285.71, 428.57, 571.43, 714.29, 857.14 ms, each due from the next whole ms.
        (SessionHarness harness, EngineSession[] sessions) = Draining(delayMs: 250, windowMs: 1000, count: 7);
        using SessionHarness owned = harness;

        var closedAtMs = new List<int>();
        for (int ms = 1; ms <= 1400; ms++)
        {
            int before = sessions.Count(s => s.IsClosed);
            harness.Time.Advance(TimeSpan.FromMilliseconds(1));
            int after = sessions.Count(s => s.IsClosed);
            closedAtMs.AddRange(Enumerable.Repeat(ms, after - before));
        }

        Assert.Equal([250, 393, 536, 679, 822, 965, 1108], closedAtMs);
        Assert.Equal(DrainState.Drained, harness.Runtime.Drain.State);
        Assert.True(harness.Runtime.Drain.Completion.IsCompletedSuccessfully);
        Assert.Equal(new DrainProgress(DrainState.Drained, 0, 7, false), harness.Runtime.Drain.Progress);
    }

    [Fact]
    public void Closing_18000SessionsOver30s_EverySecondClosesItsEvenShare_InRandomOrder()
    {
        // The issue's target: 18,000 sockets over 30 s, no second closing more than 2x the even share (600).
        const int count = 18_000, windowMs = 30_000, evenShare = count / (windowMs / 1000);
        using SessionHarness harness = Harness(delayMs: 0, windowMs: windowMs);
        EngineSession[] sessions = OpenPolling(harness, count);
        var index = new Dictionary<EngineSession, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < count; i++)
        {
            index[sessions[i]] = i;
        }

        harness.Runtime.Drain.Begin(forShutdown: false);
        var perSecond = new int[windowMs / 1000];
        long closed = harness.Runtime.Drain.Progress.Closed;
        perSecond[0] += (int)closed;
        for (int ms = 100; ms <= windowMs; ms += 100)
        {
            harness.Time.Advance(TimeSpan.FromMilliseconds(100));
            long now = harness.Runtime.Drain.Progress.Closed;
            // The closes of this step were due in (ms - 100, ms]: counted in the second that step began in.
            perSecond[(ms - 100) / 1000] += (int)(now - closed);
            closed = now;
        }

        Assert.Equal(count, closed);
        Assert.All(sessions, s => Assert.True(s.IsClosed));
        Assert.True(perSecond.Max() <= 2 * evenShare, $"closes per second: {string.Join(", ", perSecond)}");
        Assert.All(perSecond, n => Assert.InRange(n, evenShare - 1, evenShare + 1));
        Assert.Equal(count, harness.ClosedFor(CloseReason.Drained));
        Assert.Equal(0, harness.Runtime.Metrics.PollingSessions);
    }

    [Fact]
    public void Closing_Order_IsRandomNotTheOrderSessionsOpened()
    {
        const int count = 200;
        (SessionHarness harness, EngineSession[] sessions) = Draining(delayMs: 0, windowMs: count, count);
        using SessionHarness owned = harness;

        // One close per ms: record which one closed at each step.
        var order = new List<int>();
        order.AddRange(Enumerable.Range(0, count).Where(i => sessions[i].IsClosed));
        for (int ms = 1; ms < count; ms++)
        {
            harness.Time.Advance(TimeSpan.FromMilliseconds(1));
            order.AddRange(Enumerable.Range(0, count).Where(i => sessions[i].IsClosed && !order.Contains(i)));
        }

        Assert.Equal(count, order.Count);
        Assert.Equal(Enumerable.Range(0, count), order.Order());
        // 200! orders; the one they opened in (or its reverse) would be the sign of an unshuffled walk.
        Assert.NotEqual(Enumerable.Range(0, count), order);
        Assert.NotEqual(Enumerable.Range(0, count).Reverse(), order);
    }

    [Fact]
    public void Undrain_MidWindow_StopsTheClosesAndTheSocketsLeftKeepReceivingPrompts()
    {
        const int count = 100;
        using SessionHarness harness = Harness(delayMs: 0, windowMs: 10_000);
        (EngineSession Session, Pipe Output)[] sockets = OpenConnectedWebSockets(harness, count);
        SessionDrain drain = harness.Runtime.Drain;
        drain.Begin(forShutdown: false);
        harness.Time.Advance(TimeSpan.FromMilliseconds(2950));
        Assert.Equal(30, drain.Progress.Closed); // turns at 0, 100, …, 2900 ms

        // While draining, the sockets not yet closed still get prompts.
        harness.Broadcast("2[\"prompt\",\"during\"]", "p-during");
        foreach ((EngineSession session, Pipe output) in sockets)
        {
            List<(WebSocketOpcode Opcode, string Text)> frames = SessionHarness.ReadFrames(output);
            if (session.IsClosed)
            {
                Assert.DoesNotContain(frames, f => f.Text.Contains("during", StringComparison.Ordinal));
            }
            else
            {
                Assert.Equal((WebSocketOpcode.Text, "42[\"prompt\",\"during\"]"), Assert.Single(frames));
            }
        }

        Assert.True(drain.Undrain());

        Assert.Equal(DrainState.Serving, drain.State);
        Assert.False(drain.RefusesSessions);
        Assert.True(drain.Completion.IsCompleted);
        Assert.Equal(0, harness.Runtime.Metrics.DrainRemaining);
        harness.Time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(30, sockets.Count(s => s.Session.IsClosed));
        Assert.Equal(30, harness.ClosedFor(CloseReason.Drained));
        harness.Broadcast("2[\"prompt\",\"after\"]", "p-after");
        foreach ((EngineSession session, Pipe output) in sockets.Where(s => !s.Session.IsClosed))
        {
            Assert.Equal((WebSocketOpcode.Text, "42[\"prompt\",\"after\"]"), Assert.Single(SessionHarness.ReadFrames(output)));
        }
    }

    [Fact]
    public void Closing_EachSocketGetsACloseFrameInItsTurn_AndIsCountedAsDrained()
    {
        using SessionHarness harness = Harness(delayMs: 0, windowMs: 1000);
        (EngineSession Session, Pipe Output)[] sockets = OpenConnectedWebSockets(harness, 2);
        harness.Runtime.Drain.Begin(forShutdown: false);
        harness.Time.Advance(TimeSpan.FromMilliseconds(500));

        foreach ((EngineSession _, Pipe output) in sockets)
        {
            (WebSocketOpcode opcode, _) = Assert.Single(SessionHarness.ReadFrames(output));
            Assert.Equal(WebSocketOpcode.Close, opcode);
        }

        Assert.Equal(2, harness.ClosedFor(CloseReason.Drained));
        Assert.True(CloseReason.Drained.IsRecoverable());
        Assert.Equal(2, harness.Runtime.Metrics.DrainClosed);
    }

    [Fact]
    public void Begin_ForShutdown_CannotBeUndone_AndTakesOverADrainInProgress()
    {
        using SessionHarness harness = Harness(delayMs: 1000, windowMs: 1000);
        OpenPolling(harness, 4);
        SessionDrain drain = harness.Runtime.Drain;
        Assert.True(drain.Begin(forShutdown: false));
        harness.Time.Advance(TimeSpan.FromMilliseconds(1300));
        Assert.Equal(2, drain.Progress.Closed);

        // SIGTERM during an operator's drain: the same schedule goes on, and undrain is refused from now on.
        Assert.False(drain.Begin(forShutdown: true));
        Assert.False(drain.Undrain());
        Assert.True(drain.Progress.ForShutdown);
        Assert.False(drain.Completion.IsCompleted);
        harness.Time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(drain.Completion.IsCompletedSuccessfully);
        Assert.Equal(new DrainProgress(DrainState.Drained, 0, 4, true), drain.Progress);
    }

    [Fact]
    public void Begin_ForShutdownWithNoSessionOpen_SkipsTheDelay()
    {
        using SessionHarness harness = Harness(delayMs: 5000, windowMs: 30_000);

        Assert.True(harness.Runtime.Drain.Begin(forShutdown: true));

        Assert.True(harness.Runtime.Drain.Completion.IsCompletedSuccessfully);
        Assert.Equal(DrainState.Drained, harness.Runtime.Drain.State);
    }

    [Fact]
    public void Begin_WindowZero_ClosesEverySessionAtTheDelaysEnd()
    {
        (SessionHarness harness, EngineSession[] sessions) = Draining(delayMs: 100, windowMs: 0, count: 50);
        using SessionHarness owned = harness;
        harness.Time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.DoesNotContain(sessions, s => s.IsClosed);

        harness.Time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.All(sessions, s => Assert.True(s.IsClosed));
        Assert.Equal(DrainState.Drained, harness.Runtime.Drain.State);
    }

    [Fact]
    public void Drained_SessionOpenedAfterTheOrderWasTaken_IsClosedAtTheEnd()
    {
        (SessionHarness harness, EngineSession[] first) = Draining(delayMs: 0, windowMs: 1000, count: 2);
        using SessionHarness owned = harness;
        // A handshake that passed the check just before the drain began opens its session now.
        EngineSession late = harness.OpenPolling().Session;

        harness.Time.Advance(TimeSpan.FromMilliseconds(500));

        Assert.All(first, s => Assert.True(s.IsClosed));
        Assert.True(late.IsClosed);
        Assert.Equal(new DrainProgress(DrainState.Drained, 0, 3, false), harness.Runtime.Drain.Progress);
    }
}
