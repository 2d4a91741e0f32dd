using Gateway.Broadcast;
using Gateway.Prompts;
using Gateway.Redis;
using Gateway.Streams;
using StackExchange.Redis;
using static Gateway.Tests.Redis.DeliveryHarness;
using StreamPosition = Gateway.Prompts.StreamPosition;

namespace Gateway.Tests.Redis;

/// <summary>
/// The prompt stream reader's rules, in process: recorded entries in, what reaches the ring, what is counted and what
/// is held out — dedup by prompt id, holding until <c>reveal_at</c> on a fake clock, delivery order, late entries, gaps,
/// invalid entries and the first round. No Redis, no real time.
/// </summary>
public sealed class StreamDeliveryTests : IDisposable
{
    private readonly DeliveryHarness _h = new();

    public void Dispose() => _h.Dispose();

    // ---- Dedup --------------------------------------------------------------------------------------------------

    [Fact]
    public void Accept_SameEntryInTwoRounds_DeliveredOnceAndCountedDuplicate()
    {
        StreamEntry entry = RecordedStream.Entry(Id(0), Prompt("q-1", n: 1));

        _h.Delivery.Accept(entry, _h.Now);
        _h.Delivery.PushDue(_h.Now);
        _h.Delivery.Accept(entry, _h.Now);
        _h.Delivery.PushDue(_h.Now);

        Delivered delivered = Assert.Single(_h.Drain());
        Assert.Equal($"42[\"prompt\",{{\"n\":1}},\"{Id(0)}\"]", delivered.Record);
        Assert.Equal((1, 1, 0), (_h.Context.Metrics.StreamEntries, _h.Context.Metrics.StreamDuplicates, _h.Context.Metrics.StreamInvalid));
    }

    [Fact]
    public void Accept_SamePromptIdUnderANewStreamId_DeliveredOnceWithTheFirstIdAndTheCursorMovesPastBoth()
    {
        // The multi-region publisher retried its XADD: the prompt is in the stream twice.
        _h.Add(Id(0), Prompt("q-1", n: 1));
        _h.Round();
        _h.Add(Id(5), Prompt("q-1", n: 1));
        _h.Add(Id(6), Prompt("q-2", n: 2));
        _h.Round();

        Assert.Equal(Offsets(Id(0), Id(6)), _h.DrainOffsets());
        Assert.Equal(1, _h.Context.Metrics.StreamDuplicates);
        Assert.Equal(Id(6), _h.Delivery.Cursor);
        Assert.Equal(Id(6).ToString(), _h.Delivery.CursorText);
    }

    [Fact]
    public void Accept_PromptIdOlderThanTheDedupWindow_IsDeliveredAgain()
    {
        using var h = new DeliveryHarness(o => o.Redis.DedupWindow = 2);
        h.Add(Id(0), Prompt("q-1"));
        h.Add(Id(1), Prompt("q-2"));
        h.Add(Id(2), Prompt("q-2")); // within the window: skipped
        h.Add(Id(3), Prompt("q-3")); // q-1 leaves the window
        h.Add(Id(4), Prompt("q-1"));
        h.Round();

        Assert.Equal(Offsets(Id(0), Id(1), Id(3), Id(4)), h.DrainOffsets());
        Assert.Equal(1, h.Context.Metrics.StreamDuplicates);
    }

    [Fact]
    public void Round_StreamReplacedAndReadFromItsStart_PromptsAlreadyDeliveredAreNotDeliveredAgain()
    {
        _h.Add(Id(0), Prompt("q-1"));
        _h.Add(Id(1), Prompt("q-2"));
        _h.Round();
        Assert.Equal(2, _h.Drain().Count);

        // Deleted and re-created: the publisher retries q-2 into the new stream, then publishes q-3.
        _h.Time.Advance(TimeSpan.FromMilliseconds(20));
        var replacement = new RecordedStream();
        replacement.Add(Id(10), Prompt("q-2"));
        Assert.True(_h.Delivery.CheckBookkeeping(replacement.Bookkeeping)); // 1 entry added < 2 seen
        Assert.Equal(StreamId.Zero, _h.Delivery.Cursor);
        Assert.False(_h.Delivery.CheckBookkeeping(replacement.Bookkeeping));
        ReadAll(replacement);
        replacement.Add(Id(11), Prompt("q-3"));
        Assert.False(_h.Delivery.CheckBookkeeping(replacement.Bookkeeping));
        ReadAll(replacement);

        Assert.Equal(Offsets(Id(11)), _h.DrainOffsets());
        Assert.Equal((1, 1, 0), (_h.Context.Metrics.StreamGaps, _h.Context.Metrics.StreamDuplicates, _h.Context.Metrics.StreamLate));

        void ReadAll(RecordedStream stream)
        {
            foreach (StreamEntry entry in stream.ReadAfter(_h.Delivery.Cursor))
            {
                _h.Delivery.Accept(entry, _h.Now);
            }

            _h.Delivery.PushDue(_h.Now);
        }
    }

    // ---- Hold until reveal_at -----------------------------------------------------------------------------------

    [Fact]
    public void Accept_RevealAtAhead_HeldUntilTheClockReachesIt()
    {
        long revealAt = T0 + 2000;
        _h.Add(Id(0), Prompt("q-1", revealAt: revealAt));
        _h.Round();

        Assert.Empty(_h.Drain());
        Assert.Equal(1, _h.Delivery.Held);
        Assert.True(_h.Delivery.TryPeekNextReveal(out long next));
        Assert.Equal(revealAt, next);

        _h.Advance(1999);
        Assert.Empty(_h.Drain());
        Assert.Equal(1, _h.Delivery.Held);

        _h.Advance(1);
        Assert.Equal(Offsets(Id(0)), _h.DrainOffsets());
        Assert.Equal(0, _h.Delivery.Held);
        Assert.False(_h.Delivery.TryPeekNextReveal(out _));
        Assert.Equal(new StreamPosition(revealAt, Id(0)), _h.Delivery.Position);
        Assert.Equal((1, 0), (_h.Context.Metrics.StreamEntries, _h.Context.Metrics.StreamLate));
    }

    [Fact]
    public void Accept_SendAheadTwoSeconds_PushedTwoSecondsBeforeTheRevealWithItsInstantBeforeTheOffset()
    {
        using var h = new DeliveryHarness(o => o.Reveal.SendAhead = 2000);
        long revealAt = T0 + 3000;
        h.Add(Id(0), Prompt("q-1", n: 1, revealAt: revealAt));
        h.Round();

        Assert.True(h.Delivery.TryPeekNextReveal(out long next));
        Assert.Equal(T0 + 1000, next);
        Assert.True(h.Context.Reveals.IsEarly("q-1", h.Now));
        h.Advance(999);
        Assert.Empty(h.Drain());

        h.Advance(1);
        Delivered delivered = Assert.Single(h.Drain());
        // The reveal instant travels after the data and before the recovery offset, which socket.io-client reads last.
        Assert.Equal($"42[\"prompt\",{{\"n\":1}},{{\"id\":\"q-1\",\"revealAt\":{revealAt}}},\"{Id(0)}\"]", delivered.Record);
        Assert.Equal(new StreamPosition(T0 + 1000, Id(0)), h.Delivery.Position);
        Assert.True(h.Context.Reveals.IsEarly("q-1", revealAt - 1));
        Assert.False(h.Context.Reveals.IsEarly("q-1", revealAt));
    }

    [Fact]
    public void Accept_EntryOverridesTheSendAhead_ItsOwnValueDecides()
    {
        using var h = new DeliveryHarness(o => o.Reveal.SendAhead = 2000);
        h.Add(Id(0), new PromptEntry("at-reveal", "/", null, "prompt", "[1]", T0 + 3000, SendAheadMs: 0));
        h.Add(Id(1), new PromptEntry("early", "/", null, "prompt", "[2]", T0 + 3000, SendAheadMs: 2500));
        h.Round(); // the clock is at T0 + 1 (the second XADD)

        h.Advance(499);
        Assert.Equal($"42[\"prompt\",2,{{\"id\":\"early\",\"revealAt\":{T0 + 3000}}},\"{Id(1)}\"]", Assert.Single(h.Drain()).Record);
        h.Advance(2499);
        Assert.Empty(h.Drain()); // T0 + 2999
        h.Advance(1);
        Assert.Equal($"42[\"prompt\",1,\"{Id(0)}\"]", Assert.Single(h.Drain()).Record);
    }

    [Fact]
    public void Accept_UntimedEntryWithSendAhead_TaggedWithItsIdOnly()
    {
        using var h = new DeliveryHarness(o => o.Reveal.SendAhead = 2000);
        h.Add(Id(0), Prompt("q-1", n: 1));
        h.Round();

        Assert.Equal($"42[\"prompt\",{{\"n\":1}},{{\"id\":\"q-1\"}},\"{Id(0)}\"]", Assert.Single(h.Drain()).Record);
    }

    [Fact]
    public void Accept_RevealAtNotAfterTheStreamTime_DeliveredAtOnce()
    {
        _h.Time.Advance(TimeSpan.FromMilliseconds(100));
        _h.Add(Id(50), Prompt("q-1", revealAt: T0)); // reveal_at before the entry's own time
        _h.Add(Id(60), Prompt("q-2", revealAt: T0 + 60));
        _h.Round();

        Assert.Equal(Offsets(Id(50), Id(60)), _h.DrainOffsets());
        Assert.Equal(new StreamPosition(T0 + 60, Id(60)), _h.Delivery.Position);
        Assert.Equal(0, _h.Delivery.Held);
    }

    [Fact]
    public void PushDue_HeldAndReadEntries_GoOutInVisibleAtThenStreamIdOrder()
    {
        _h.Time.Advance(TimeSpan.FromMilliseconds(200));
        _h.Add(Id(0), Prompt("a", revealAt: T0 + 500));
        _h.Add(Id(10), Prompt("b", revealAt: T0 + 150)); // visible at 150: due, but after c
        _h.Add(Id(100), Prompt("c"));                     // visible at 100
        _h.Add(Id(100, 1), Prompt("d", revealAt: T0 + 500)); // same instant as a, higher id
        _h.Add(Id(200), Prompt("e", revealAt: T0 + 300));
        _h.Round();

        Assert.Equal(Offsets(Id(100), Id(10)), _h.DrainOffsets());
        Assert.Equal(3, _h.Delivery.Held);

        _h.Advance(400); // to T0 + 600: e (300), then a and d (both 500, by stream id)
        Assert.Equal(Offsets(Id(200), Id(0), Id(100, 1)), _h.DrainOffsets());
        Assert.Equal(new StreamPosition(T0 + 500, Id(100, 1)), _h.Delivery.Position);
        Assert.Equal((5, 0), (_h.Context.Metrics.StreamEntries, _h.Context.Metrics.StreamLate));
    }

    [Fact]
    public void Accept_EntryStampedAheadOfTheGatewayClock_HeldUntilTheClockReachesItsId()
    {
        // Redis's clock runs 50 ms ahead of the gateway's: the entry is not visible before its own stream time.
        _h.Stream.Add(RecordedStream.Entry(Id(50), Prompt("q-1")));
        _h.Round();
        Assert.Empty(_h.Drain());
        Assert.Equal(1, _h.Delivery.Held);

        _h.Advance(49);
        Assert.Empty(_h.Drain());
        _h.Advance(1);
        Assert.Equal(Offsets(Id(50)), _h.DrainOffsets());
    }

    // ---- Late entries -------------------------------------------------------------------------------------------

    [Fact]
    public void PushDue_EntryVisibleBeforeOneAlreadyDelivered_DeliveredAtOnceAndCountedLate()
    {
        _h.Add(Id(0), Prompt("reveal", revealAt: T0 + 1000));
        _h.Round();
        _h.Advance(1000);
        Assert.Equal(Offsets(Id(0)), _h.DrainOffsets());
        StreamPosition afterReveal = _h.Delivery.Position;

        // Redis's clock runs behind the gateway's: an entry stamped 700 becomes readable after the reveal at 1000.
        _h.Add(Id(700), Prompt("skewed"));
        _h.Round();

        Assert.Equal(Offsets(Id(700)), _h.DrainOffsets());
        Assert.Equal((2, 1), (_h.Context.Metrics.StreamEntries, _h.Context.Metrics.StreamLate));
        Assert.Equal(afterReveal, _h.Delivery.Position); // the position never moves back
    }

    // ---- Gaps ---------------------------------------------------------------------------------------------------

    [Fact]
    public void CheckBookkeeping_EntriesDeletedPastTheCursor_GapCountedAndEveryMemberResyncs()
    {
        Member[] members = AddMembers(3);
        _h.Add(Id(0), Prompt("q-1"));
        _h.Round();
        _h.Add(Id(1), Prompt("q-2"));
        _h.Add(Id(2), Prompt("q-3"));
        _h.Stream.TrimThrough(Id(1)); // q-2 trimmed before this gateway read it

        Assert.Equal(0, _h.Round());

        Assert.Equal(1, _h.Context.Metrics.StreamGaps);
        Assert.All(members, m => Assert.Equal(1, m.Resyncs));
        Assert.Equal(Offsets(Id(0), Id(2)), _h.DrainOffsets());
    }

    [Fact]
    public void CheckBookkeeping_DeletedUpToTheCursorOnly_NoGap()
    {
        Member[] members = AddMembers(2);
        _h.Add(Id(0), Prompt("q-1"));
        _h.Add(Id(1), Prompt("q-2"));
        _h.Round();
        _h.Stream.TrimThrough(Id(1)); // everything trimmed had been read
        _h.Add(Id(2), Prompt("q-3"));
        _h.Round();

        Assert.Equal(0, _h.Context.Metrics.StreamGaps);
        Assert.All(members, m => Assert.Equal(0, m.Resyncs));
        Assert.Equal(3, _h.Drain().Count);
    }

    [Theory]
    [InlineData("lower last-generated id")]
    [InlineData("fewer entries added")]
    public void CheckBookkeeping_StreamReplaced_GapCountedMembersResyncAndReadFromTheStart(string how)
    {
        Member[] members = AddMembers(2);
        _h.Add(Id(0), Prompt("q-1"));
        _h.Add(Id(1), Prompt("q-2"));
        _h.Round();
        StreamBookkeeping seen = _h.Stream.Bookkeeping;

        StreamBookkeeping replaced = how == "lower last-generated id"
            ? seen with { LastGenerated = Id(0) }
            : seen with { EntriesAdded = seen.EntriesAdded - 1 };

        Assert.True(_h.Delivery.CheckBookkeeping(replaced));
        Assert.Equal(StreamId.Zero, _h.Delivery.Cursor);
        Assert.Equal(1, _h.Context.Metrics.StreamGaps);
        Assert.All(members, m => Assert.Equal(1, m.Resyncs));
    }

    [Fact]
    public void CheckBookkeeping_StreamDeleted_OneGapThenReadFromTheStart()
    {
        Member[] members = AddMembers(1);
        _h.Add(Id(0), Prompt("q-1"));
        _h.Round();

        Assert.False(_h.Delivery.CheckBookkeeping(null));
        Assert.False(_h.Delivery.CheckBookkeeping(null)); // still gone: not a second gap

        Assert.Equal(StreamId.Zero, _h.Delivery.Cursor);
        Assert.Equal(1, _h.Context.Metrics.StreamGaps);
        Assert.Equal(1, members[0].Resyncs);
    }

    [Fact]
    public void CheckBookkeeping_NoStreamYetOrAnEmptyOne_NoGap()
    {
        Member[] members = AddMembers(1);

        Assert.False(_h.Delivery.CheckBookkeeping(null));
        Assert.False(_h.Delivery.CheckBookkeeping(new StreamBookkeeping(0, StreamId.Zero, StreamId.Zero)));
        Assert.False(_h.Delivery.CheckBookkeeping(null)); // created empty, then deleted: nothing was missed

        Assert.Equal(0, _h.Context.Metrics.StreamGaps);
        Assert.Equal(0, members[0].Resyncs);
    }

    // ---- Invalid entries and other namespaces -------------------------------------------------------------------

    [Theory]
    [InlineData("no id")]
    [InlineData("id too long")]
    [InlineData("namespace without a slash")]
    [InlineData("data not JSON")]
    [InlineData("data not an array")]
    [InlineData("reveal_at not a number")]
    [InlineData("reveal_at beyond MaxRevealAhead")]
    [InlineData("channel too long")]
    public void Accept_InvalidEntry_CountedNeverDeliveredAndTheCursorMovesPastIt(string what)
    {
        NameValueEntry[] fields = what switch
        {
            "no id" => [new("ns", "/"), new("ev", "prompt"), new("data", "[1]")],
            "id too long" => [new("id", new string('x', PromptEntry.MaxIdLength + 1)), new("data", "[1]")],
            "namespace without a slash" => [new("id", "q-1"), new("ns", "quiz"), new("data", "[1]")],
            "data not JSON" => [new("id", "q-1"), new("data", "[1,")],
            "data not an array" => [new("id", "q-1"), new("data", "{\"n\":1}")],
            "reveal_at not a number" => [new("id", "q-1"), new("data", "[1]"), new("reveal_at", "soon")],
            "reveal_at beyond MaxRevealAhead" => [new("id", "q-1"), new("data", "[1]"), new("reveal_at", T0 + _h.Options.Redis.MaxRevealAhead + 1)],
            // Never widened to the whole namespace: a name that cannot be a channel reaches nobody.
            "channel too long" => [new("id", "q-1"), new("ch", new string('c', ChannelRegistry.MaxNameLength + 1)), new("data", "[1]")],
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };
        _h.Add(new StreamEntry(Id(0).ToString(), fields));
        _h.Add(Id(1), Prompt("q-2"));

        _h.Round();
        _h.Advance(_h.Options.Redis.MaxRevealAhead + 1);

        Assert.Equal(Offsets(Id(1)), _h.DrainOffsets());
        Assert.Equal((1, 1), (_h.Context.Metrics.StreamInvalid, _h.Context.Metrics.StreamEntries));
        Assert.Equal(Id(1), _h.Delivery.Cursor);
        Assert.Equal(0, _h.Delivery.Held);
    }

    [Fact]
    public void Accept_ChannelNotValidText_CountedAsARefusedPublishAndNeverDelivered()
    {
        _h.Add(new StreamEntry(Id(0).ToString(), [new("id", "q-1"), new("ch", "room-\ud800"), new("data", "[1]")]));
        _h.Add(Id(1), Prompt("q-2"));
        _h.Round();

        Assert.Equal(Offsets(Id(1)), _h.DrainOffsets());
        Assert.Equal(1, _h.Context.Metrics.StreamInvalid);
        Assert.Equal(1, _h.Context.Metrics.ChannelsRefused((int)ChannelRefusal.PublishInvalidName));
    }

    [Fact]
    public void Accept_MissingOptionalFields_TakeTheContractDefaults()
    {
        _h.Add(new StreamEntry(Id(0).ToString(), [new("id", "q-1")]));
        _h.Round();

        Delivered delivered = Assert.Single(_h.Drain());
        Assert.Equal((0, -1L, "prompt", "[]"), (delivered.NamespaceIndex, delivered.ChannelId, delivered.Event, delivered.Arguments));
    }

    [Fact]
    public void Accept_NamespaceNotServed_SkippedWithoutCountingAndTheCursorMovesPastIt()
    {
        _h.Add(Id(0), Prompt("q-1", ns: "/elsewhere"));
        _h.Add(Id(1), Prompt("q-2", ns: "/quiz", ch: "room-a"));
        _h.Round();

        Delivered delivered = Assert.Single(_h.Drain());
        Assert.Equal((1, _h.Context.Channels.Find("room-a")), (delivered.NamespaceIndex, delivered.ChannelId));
        Assert.StartsWith("42/quiz,[", delivered.Record, StringComparison.Ordinal);
        Assert.Equal((0, 1), (_h.Context.Metrics.StreamInvalid, _h.Context.Metrics.StreamEntries));
        Assert.Equal(Id(1), _h.Delivery.Cursor);
    }

    // ---- First round --------------------------------------------------------------------------------------------

    [Fact]
    public void StartAndLoad_ExistingStream_StartsAtItsEnd_HoldsPendingReveals_RecentOnesBecomeCurrent()
    {
        using var h = new DeliveryHarness(start: false);
        h.Time.Advance(TimeSpan.FromMinutes(5));
        long now = h.Now;
        h.Add(Id(0), Prompt("old"));                                   // 5 min ago: history
        h.Add(new StreamId(now - 10_000, 0), Prompt("recent", ch: "room-a")); // 10 s ago: the current prompt
        h.Add(new StreamId(now - 5_000, 0), Prompt("timed", revealAt: now + 1000));
        h.Add(new StreamId(now - 1_000, 0), Prompt("recent", ch: "room-a")); // a retried XADD of "recent"

        StreamId? from = h.Delivery.Start(h.Stream.Bookkeeping, now);
        Assert.Equal(new StreamId(now - h.Options.Redis.MaxRevealAhead, 0), from);
        StreamEntry[] newestFirst = Enumerable.Reverse(h.Stream.Range(from!.Value, h.Delivery.Cursor, StreamDelivery.SyncLoadLimit)).ToArray();
        h.Delivery.Load(newestFirst, now);

        Assert.Equal(new StreamId(now - 10_000, 0).ToString(), Assert.Single(h.DrainOffsets()));
        Assert.Equal(new StreamPosition(now, new StreamId(now - 1_000, 0)), h.Delivery.Position);
        Assert.Equal(new StreamId(now - 1_000, 0), h.Delivery.Cursor);
        Assert.Equal(1, h.Delivery.Held);

        h.Round(); // nothing after the cursor
        Assert.Empty(h.Drain());
        h.Advance(1000);
        Assert.Equal(Offsets(new StreamId(now - 5_000, 0)), h.DrainOffsets());
        Assert.Equal(0, h.Context.Metrics.StreamGaps);
    }

    private static string[] Offsets(params StreamId[] ids) => ids.Select(id => id.ToString()).ToArray();

    private Member[] AddMembers(int count)
    {
        Member[] members = Enumerable.Range(0, count).Select(_ => new Member()).ToArray();
        foreach (Member member in members)
        {
            _h.Context.FanOut.Add(member);
        }

        return members;
    }

    /// <summary>A fan-out member that records what a gap asks of it.</summary>
    private sealed class Member : IFanOutMember
    {
        public int Resyncs;

        public bool IsClosed { get; private set; }

        public long Cursor => 0;

        public void PumpBroadcasts(DeliveryTally? tally)
        {
        }

        public void OnPumpFailed(Exception exception) => IsClosed = true;

        public bool CloseForResync()
        {
            Resyncs++;
            bool wasOpen = !IsClosed;
            IsClosed = true;
            return wasOpen;
        }
    }
}
