using Gateway.EngineIO;

namespace Gateway.Tests.EngineIO;

/// <summary>
/// The polling transport in process: GETs answered or held, POST bodies, overlaps, a held GET's connection going
/// away. Requests are recording fakes; the wheel runs on a fake clock and the fan-out is pumped by hand.
/// </summary>
public class PollingSessionTests
{
    [Fact]
    public void OnPollRequest_PacketsQueued_AnswersAtOnceWithEveryQueuedRecord()
    {
        using var harness = new SessionHarness();
        (EngineSession session, _) = harness.OpenPolling();
        Assert.Equal(EngineSession.PollOutcome.Answered, SessionHarness.Post(session, "40"));
        harness.Broadcast("2[\"prompt\",\"a\"]", "p1");

        (EngineSession.PollOutcome outcome, RecordingPollingRequest get) = SessionHarness.Get(session);

        Assert.Equal(EngineSession.PollOutcome.Answered, outcome);
        (int status, string contentType, string body) = Assert.Single(get.Responses);
        Assert.Equal(200, status);
        Assert.Equal("text/plain; charset=UTF-8", contentType);
        string[] records = body.Split('\u001e');
        Assert.Equal(2, records.Length);
        Assert.StartsWith("40{\"sid\":", records[0]);
        Assert.Equal("42[\"prompt\",\"a\"]", records[1]);
        Assert.Null(get.ParkedFor);
    }

    [Fact]
    public void OnPollRequest_NothingQueued_IsHeldUntilABroadcastArrives()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();

        (EngineSession.PollOutcome outcome, RecordingPollingRequest get) = SessionHarness.Get(session);
        Assert.Equal(EngineSession.PollOutcome.Parked, outcome);
        Assert.Empty(get.Responses);
        Assert.Same(session, get.ParkedFor);

        harness.Broadcast("2[\"prompt\",\"a\"]", "p1");

        Assert.Equal("42[\"prompt\",\"a\"]", get.SingleBody);
        Assert.Null(get.ParkedFor);
        // Answered once: the next broadcast waits for the next GET.
        harness.Broadcast("2[\"prompt\",\"b\"]", "p2");
        Assert.Single(get.Responses);
        Assert.Equal("42[\"prompt\",\"b\"]", SessionHarness.Get(session).Request.SingleBody);
    }

    [Fact]
    public void OnPollRequest_NothingQueued_IsHeldUntilTheWheelSendsAPing()
    {
        using var harness = new SessionHarness(o => { o.PingInterval = 300; o.PingTimeout = 200; });
        EngineSession session = harness.OpenConnectedPolling();
        (_, RecordingPollingRequest get) = SessionHarness.Get(session);

        harness.Advance(298);
        Assert.Empty(get.Responses);
        harness.Advance(2);

        Assert.Equal("2", get.SingleBody);
        Assert.False(session.IsClosed);
    }

    [Fact]
    public void OnPollRequest_SecondGetWhileOneIsHeld_RefusesItAndClosesWithPollOverlap()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        (_, RecordingPollingRequest held) = SessionHarness.Get(session);

        (EngineSession.PollOutcome outcome, RecordingPollingRequest second) = SessionHarness.Get(session);

        // The HTTP loop answers BadRequest with 400; the held GET gets the close packet (a server-side close).
        Assert.Equal(EngineSession.PollOutcome.BadRequest, outcome);
        Assert.Empty(second.Responses);
        Assert.Equal("1", held.SingleBody);
        Assert.Null(held.ParkedFor);
        Assert.True(session.IsClosed);
        Assert.False(harness.IsRegistered(session));
        Assert.Equal(1, harness.ClosedFor(CloseReason.PollOverlap));
        Assert.Equal(0, harness.Runtime.Metrics.PollingSessions);
    }

    [Fact]
    public void TryBeginDataRequest_SecondPostWhileOneIsInProgress_RefusesItAbortsTheFirstAndClosesWithPollOverlap()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        var first = new RecordingPollingRequest();
        var second = new RecordingPollingRequest();
        Assert.True(session.TryBeginDataRequest(first));
        Assert.Same(session, first.DataFor);

        Assert.False(session.TryBeginDataRequest(second));

        // engine.io destroys the request in progress: no answer, its connection ends.
        Assert.Equal(1, first.Aborts);
        Assert.Empty(first.Responses);
        Assert.Null(first.DataFor);
        Assert.Null(second.DataFor);
        Assert.True(session.IsClosed);
        Assert.False(harness.IsRegistered(session));
        Assert.Equal(1, harness.ClosedFor(CloseReason.PollOverlap));
        // The first body arriving late finds the session gone.
        Assert.Equal(EngineSession.PollOutcome.BadRequest, session.OnPollData(first, "3"u8));
    }

    [Fact]
    public void TryBeginDataRequest_SamePostAgain_IsNotAnOverlap()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        var post = new RecordingPollingRequest();

        Assert.True(session.TryBeginDataRequest(post));
        Assert.True(session.TryBeginDataRequest(post));
        Assert.Equal(EngineSession.PollOutcome.Answered, session.OnPollData(post, "3"u8));

        Assert.False(session.IsClosed);
        Assert.Null(post.DataFor);
        // Its body done, the next POST is a new data request, not an overlap.
        Assert.Equal(EngineSession.PollOutcome.Answered, SessionHarness.Post(session, "3"));
        Assert.False(session.IsClosed);
    }

    [Fact]
    public void OnPollData_SeveralRecords_HandlesEachInOrder()
    {
        using var harness = new SessionHarness(o => { o.PingInterval = 300; o.PingTimeout = 200; });
        (EngineSession session, _) = harness.OpenPolling();
        harness.Advance(300);
        Assert.Equal("2", SessionHarness.Get(session).Request.SingleBody);

        // One body: the pong, then the Socket.IO CONNECT.
        Assert.Equal(EngineSession.PollOutcome.Answered, SessionHarness.Post(session, "3", "40"));

        Assert.StartsWith("40{\"sid\":", SessionHarness.Get(session).Request.SingleBody);
        // The pong counted: past the ping timeout the session is open, and the next ping comes an interval later.
        (_, RecordingPollingRequest held) = SessionHarness.Get(session);
        harness.Advance(200);
        Assert.False(session.IsClosed);
        Assert.Empty(held.Responses);
        harness.Advance(100);
        Assert.Equal("2", held.SingleBody);
    }

    [Fact]
    public void OnPollData_BadRecordAmongGoodOnes_ClosesWithProtocolError()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        (_, RecordingPollingRequest held) = SessionHarness.Get(session);

        Assert.Equal(EngineSession.PollOutcome.BadRequest, SessionHarness.Post(session, "3", "9", "3"));

        Assert.True(session.IsClosed);
        Assert.Equal("1", held.SingleBody);
        Assert.Equal(1, harness.ClosedFor(CloseReason.ProtocolError));
        Assert.False(harness.IsRegistered(session));
    }

    [Fact]
    public void OnPollConnectionClosed_HeldGetsConnectionEndsFirst_ClosesWithPollClosedPrematurely()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        (_, RecordingPollingRequest held) = SessionHarness.Get(session);

        session.OnPollConnectionClosed(held);

        // Nothing is written to a connection that is gone.
        Assert.Empty(held.Responses);
        Assert.Null(held.ParkedFor);
        Assert.True(session.IsClosed);
        Assert.False(harness.IsRegistered(session));
        Assert.Equal(1, harness.ClosedFor(CloseReason.PollClosedPrematurely));
    }

    [Fact]
    public void OnPollConnectionClosed_AfterItsGetWasAnswered_LeavesTheSessionOpen()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        (_, RecordingPollingRequest get) = SessionHarness.Get(session);
        harness.Broadcast("2[\"prompt\",\"a\"]", "p1");
        Assert.Equal("42[\"prompt\",\"a\"]", get.SingleBody);

        session.OnPollConnectionClosed(get);

        Assert.False(session.IsClosed);
        Assert.True(harness.IsRegistered(session));
    }

    [Fact]
    public void OnPollRequest_ClosedSession_IsRefused()
    {
        using var harness = new SessionHarness();
        EngineSession session = harness.OpenConnectedPolling();
        Assert.True(session.Close(CloseReason.AdminDisconnect, clientInitiated: false));

        Assert.Equal(EngineSession.PollOutcome.BadRequest, SessionHarness.Get(session).Outcome);
        Assert.Equal(EngineSession.PollOutcome.BadRequest, session.OnPollData(new RecordingPollingRequest(), "3"u8));
    }
}
