using Gateway.Broadcast;
using Gateway.Prompts;
using Gateway.Recovery;
using Gateway.Redis;
using StackExchange.Redis;
using static Gateway.Tests.Redis.DeliveryHarness;
using StreamPosition = Gateway.Prompts.StreamPosition;

namespace Gateway.Tests.Redis;

/// <summary>
/// Connection-state recovery's replay over a recorded stream, in process: which entries a recovering socket missed
/// after its offset (or where it joined), in delivery order, within its namespace and channels and
/// <c>Recovery:MaxReplay</c> — and when the answer is <c>recovered: false</c>. The scan is what the reader's XRANGE
/// returns (<see cref="StreamDelivery.ReplayScanFrom"/> to the cursor); the delivery state comes from the same
/// entries read live.
/// </summary>
public sealed class RecoveryReplayTests : IDisposable
{
    private readonly DeliveryHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Replay_FromAnOffset_ExactlyTheEntriesAfterItInOrder_SameBytesAsTheRing()
    {
        AddAndRead(5);
        List<Delivered> ring = _h.Drain();

        RecoveredState? state = Replay(_h, Request(Id(1).ToString(), Record()), out bool retry);

        Assert.False(retry);
        Assert.NotNull(state);
        Assert.Equal(("sid-1", "pid-1"), (state.Sid, state.Pid));
        Assert.Equal(ring.Skip(2).Select(d => d.Record), Records(state));
        Assert.Equal(Offsets(Id(2), Id(3), Id(4)), MissedOffsets(state));
    }

    [Fact]
    public void Replay_OffsetOfTheLastEntry_RecoveredWithNothingMissed()
    {
        AddAndRead(3);

        RecoveredState? state = Replay(_h, Request(Id(2).ToString(), Record()), out _);

        Assert.NotNull(state);
        Assert.Empty(state.Missed);
    }

    [Fact]
    public void Replay_RevealedEntry_ReplayedInDeliveryOrder_ButNotWhileStillHeld()
    {
        _h.Time.Advance(TimeSpan.FromMilliseconds(100));
        _h.Add(Id(0), Prompt("timed", n: 0, revealAt: T0 + 500));
        _h.Add(Id(100), Prompt("now", n: 1));
        _h.Round();
        PendingRecovery request = Request(Id(100).ToString(), Record()); // got "now", then its transport closed

        // Still held: the ring delivers it live to the recovered socket.
        Assert.Empty(Replay(_h, request, out _)!.Missed);

        _h.Advance(400);
        _h.Add(Id(600), Prompt("after", n: 2));
        _h.Round();

        // Written before the offset's entry, shown after it: missed, and first.
        Assert.Equal(Offsets(Id(0), Id(600)), MissedOffsets(Replay(_h, request, out _)!));
    }

    [Fact]
    public void Replay_SentAheadEntry_CarriesTheSameRevealInstantAsTheRing()
    {
        using var h = new DeliveryHarness(o => o.Reveal.SendAhead = 2000);
        h.Add(Id(0), Prompt("before"));
        h.Add(Id(1), Prompt("timed", n: 1, revealAt: T0 + 3000));
        h.Round();
        h.Advance(1001);
        List<Delivered> ring = h.Drain();
        Assert.Contains($"{{\"id\":\"timed\",\"revealAt\":{T0 + 3000}}}", ring[^1].Record, StringComparison.Ordinal);

        RecoveredState? state = Replay(h, Request(Id(0).ToString(), Record()), out _);

        Assert.Equal([ring[^1].Record], Records(state!));
    }

    [Fact]
    public void Replay_OtherNamespacesAndChannels_OnlyWhatTheSocketWouldHaveGot()
    {
        _h.Add(Id(0), Prompt("q-0"));                       // the socket's offset
        _h.Add(Id(1), Prompt("q-1", ns: "/quiz"));
        _h.Add(Id(2), Prompt("q-2", ch: "room-a"));         // joined before it left (session record)
        _h.Add(Id(3), Prompt("q-3", ch: "room-b"));         // never joined
        _h.Add(Id(4), Prompt("q-4", ch: "room-c"));         // in the CONNECT's auth
        _h.Add(Id(5), Prompt("q-5"));
        _h.Round();

        RecoveredState? root = Replay(_h, Request(Id(0).ToString(), Record(channels: "room-a"), authChannels: ["room-c"]), out _);
        RecoveredState? quiz = Replay(_h, Request(Id(0).ToString(), Record("/quiz"), namespaceIndex: 1), out _);

        Assert.Equal(Offsets(Id(2), Id(4), Id(5)), MissedOffsets(root!));
        Assert.Equal(["room-a", "room-c"], root!.Channels.Order(StringComparer.Ordinal));
        Delivered quizPrompt = Delivered.Parse(Assert.Single(quiz!.Missed), 1);
        Assert.Equal(Id(1).ToString(), quizPrompt.Offset);
        Assert.StartsWith("42/quiz,[", quizPrompt.Record, StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_RetriedXadd_ReplayedOnceUnderTheIdThatWasDelivered()
    {
        _h.Add(Id(0), Prompt("q-0"));
        _h.Add(Id(1), Prompt("q-1"));
        _h.Add(Id(2), Prompt("q-1")); // retried
        _h.Add(Id(3), Prompt("q-0")); // retried, of a prompt the socket had
        _h.Add(Id(4), Prompt("q-2"));
        _h.Round();

        RecoveredState? state = Replay(_h, Request(Id(0).ToString(), Record()), out _);

        Assert.Equal(Offsets(Id(1), Id(4)), MissedOffsets(state!));
    }

    [Theory]
    [InlineData(3, true)]
    [InlineData(2, false)]
    public void Replay_MissedAgainstRecoveryMaxReplay_RecoveredOnlyWithinIt(int maxReplay, bool recovered)
    {
        using var h = new DeliveryHarness(o => o.Recovery.MaxReplay = maxReplay);
        for (int i = 0; i < 4; i++)
        {
            h.Add(Id(i), Prompt($"q-{i}"));
        }

        h.Round();

        RecoveredState? state = Replay(h, Request(Id(0).ToString(), Record()), out bool retry);

        Assert.Equal(recovered, state is not null);
        Assert.False(retry);
    }

    [Fact]
    public void Replay_ScanFillingTheLimit_NotRecovered()
    {
        using var h = new DeliveryHarness(o => o.Recovery.MaxReplay = 1);
        h.Add(Id(0), Prompt("q-0"));
        h.Round();
        // More history than a replay may hold (even if it is all other namespaces'): XRANGE … COUNT limit came back full.
        StreamEntry[] scan = Enumerable.Range(0, h.Delivery.ReplayScanLimit)
            .Select(i => RecordedStream.Entry(new StreamId(T0, i), Prompt($"other-{i}", ns: "/quiz")))
            .ToArray();

        Assert.Null(h.Delivery.Replay(Request(Id(0).ToString(), Record()), scan, [], [], out bool retry));
        Assert.False(retry);
    }

    [Fact]
    public void Replay_OffsetTrimmedFromTheStream_NotRecovered_ALaterOneStillIs()
    {
        AddAndRead(4);
        _h.Stream.TrimThrough(Id(1)); // MAXLEN ~ after this gateway read them: not a gap
        _h.Round();
        Assert.Equal(0, _h.Context.Metrics.StreamGaps);

        Assert.Null(Replay(_h, Request(Id(1).ToString(), Record()), out bool retry));
        Assert.False(retry);
        Assert.Equal(Offsets(Id(3)), MissedOffsets(Replay(_h, Request(Id(2).ToString(), Record()), out _)!));
    }

    [Fact]
    public void Replay_OffsetAheadOfTheCursor_RetriedAndRecoveredAfterTheNextRound()
    {
        AddAndRead(2);
        PendingRecovery request = Request(Id(10).ToString(), Record()); // another gateway delivered it already

        Assert.Null(Replay(_h, request, out bool retry));
        Assert.True(retry);

        _h.Add(Id(10), Prompt("q-10"));
        _h.Add(Id(11), Prompt("q-11"));
        _h.Round();

        Assert.Equal(Offsets(Id(11)), MissedOffsets(Replay(_h, request, out retry)!));
        Assert.False(retry);
    }

    [Theory]
    [InlineData("not-an-id")]
    [InlineData("")]
    public void Replay_OffsetNotAStreamId_NotRecovered(string offset)
    {
        AddAndRead(2);

        Assert.Null(Replay(_h, Request(offset, Record()), out bool retry));
        Assert.False(retry);
    }

    [Fact]
    public void Replay_NoOffset_FromWhereTheSocketJoined()
    {
        AddAndRead(2);
        StreamPosition joined = _h.Delivery.Position; // a socket joins now, gets nothing, and its transport closes
        _h.Add(Id(2), Prompt("q-2"));
        _h.Add(Id(3), Prompt("q-3"));
        _h.Round();

        RecoveredState? state = Replay(_h, Request(null, Record(joined: joined)), out _);

        Assert.Equal(Offsets(Id(2), Id(3)), MissedOffsets(state!));
    }

    [Fact]
    public void Replay_NoOffset_EntriesAfterTheJoinDeleted_NotRecovered()
    {
        AddAndRead(1);
        StreamPosition joined = _h.Delivery.Position;
        _h.Add(Id(1), Prompt("q-1"));
        _h.Add(Id(2), Prompt("q-2"));
        _h.Round();
        _h.Stream.TrimThrough(Id(1));
        _h.Round();

        Assert.Null(Replay(_h, Request(null, Record(joined: joined)), out bool retry));
        Assert.False(retry);
    }

    [Fact]
    public void Replay_NoRecordOrARecordOfAnotherNamespace_NotRecovered()
    {
        AddAndRead(3);
        PendingRecovery noRecord = Request(Id(0).ToString(), Record());
        noRecord.Record = null;

        Assert.Null(Replay(_h, Request(Id(0).ToString(), Record("/quiz"), namespaceIndex: 0), out _));
        Assert.Null(_h.Delivery.Replay(noRecord, _h.Stream.Range(StreamId.Zero, _h.Delivery.Cursor, 100), [], [], out _));
    }

    [Fact]
    public void ReplayScanFrom_OffsetOrJoin_LessTheRevealHorizon()
    {
        long horizon = _h.Options.Redis.MaxRevealAhead;
        var joined = new StreamPosition(T0 + 7, Id(3));

        Assert.Equal(new StreamId(T0 + 5 - horizon, 0), _h.Delivery.ReplayScanFrom(Request(Id(5, 2).ToString(), Record(joined: joined))));
        Assert.Equal(new StreamId(T0 + 7 - horizon, 0), _h.Delivery.ReplayScanFrom(Request(null, Record(joined: joined))));
        Assert.Equal(StreamId.Zero, _h.Delivery.ReplayScanFrom(Request("5-0", Record())));
    }

    // ---- Helpers ------------------------------------------------------------------------------------------------

    /// <summary>Entries q-0… at Id(0)… in <c>/</c>, read in one round.</summary>
    private void AddAndRead(int count)
    {
        for (int i = 0; i < count; i++)
        {
            _h.Add(Id(i), Prompt($"q-{i}", n: i));
        }

        _h.Round();
    }

    /// <summary>What <c>ProcessRecoveriesAsync</c> does for one request: XRANGE from the scan start to the cursor, then the selection.</summary>
    private static RecoveredState? Replay(DeliveryHarness h, PendingRecovery request, out bool retry)
    {
        StreamEntry[] scan = h.Stream.Range(h.Delivery.ReplayScanFrom(request), h.Delivery.Cursor, h.Delivery.ReplayScanLimit);
        return h.Delivery.Replay(request, scan, [], [], out retry);
    }

    private static PendingRecovery Request(string? offset, SessionRecord record, int namespaceIndex = 0, List<string>? authChannels = null) =>
        new(new RecoveryRequest(NoTarget.Instance, namespaceIndex, "pid-1", offset, null, authChannels)) { Record = record };

    private static SessionRecord Record(string ns = "/", StreamPosition joined = default, params string[] channels) =>
        new("sid-1", ns, joined.VisibleAt, joined.Id.ToString(), channels);

    private static IEnumerable<string> Records(RecoveredState state) => state.Missed.Select(f => Delivered.Parse(f, 0).Record);

    private static string[] MissedOffsets(RecoveredState state) => state.Missed.Select(f => Delivered.Parse(f, 0).Offset!).ToArray();

    private static string[] Offsets(params StreamId[] ids) => ids.Select(id => id.ToString()).ToArray();

    /// <summary>Replay is called directly: nobody is told the outcome.</summary>
    private sealed class NoTarget : IRecoveryTarget
    {
        public static readonly NoTarget Instance = new();

        public void CompleteRecovery(RecoveryRequest request, RecoveredState? state) => throw new InvalidOperationException("not completed in these tests");
    }
}
