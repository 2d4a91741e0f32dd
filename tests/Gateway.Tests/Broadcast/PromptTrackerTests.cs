using System.Diagnostics;
using System.Text;
using Gateway.Broadcast;
using Gateway.EngineIO;
using Gateway.Tests.EngineIO;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Tests.Broadcast;

public class PromptTrackerTests
{
    [Fact]
    public void Pass_EveryPartition_CompletesTheRecordWithItsRecipients()
    {
        using var harness = new SessionHarness(o => o.FanOutWorkers = 2);
        var sessions = Enumerable.Range(0, 3).Select(_ => Join(harness, "")).ToArray();

        harness.Broadcast("2[\"prompt\",1]", "p-1");

        PromptRecord record = Assert.Single(harness.Runtime.Context.Tracker!.Recent(10));
        Assert.Equal("p-1", record.Id);
        Assert.True(record.Complete);
        Assert.Equal(3, record.Recipients);
        Assert.NotNull(record.FirstWriteMs);
        Assert.True(record.FirstWriteMs <= record.LastWriteMs);
        Assert.Equal(0, record.SlowConsumers);
        Assert.All(sessions, s => Assert.False(s.IsClosed));
    }

    [Fact]
    public void Pass_ChannelPrompt_CountsOnlyItsMembers()
    {
        using var harness = new SessionHarness(o => o.FanOutWorkers = 2);
        Join(harness, "{\"channels\":[\"show-42\"]}");
        Join(harness, "");
        long channel = harness.Runtime.Channels.Find("show-42");

        harness.Runtime.Broadcaster.PublishPacket(0, channel, "2[\"prompt\",1]"u8, "p-channel", "prompt");
        harness.Runtime.FanOut.PassAll();

        PromptRecord record = harness.Runtime.Context.Tracker!.Recent(1)[0];
        Assert.Equal(("p-channel", "prompt", true, 1L), (record.Id, record.Event, record.Complete, record.Recipients));
    }

    [Fact]
    public void Pass_NobodyConnected_CompletesWithoutWrites()
    {
        using var harness = new SessionHarness();
        harness.Broadcast("2[\"prompt\",1]", "p-empty");

        PromptRecord record = harness.Runtime.Context.Tracker!.Recent(1)[0];
        Assert.True(record.Complete);
        Assert.Equal(0, record.Recipients);
        Assert.Null(record.FirstWriteMs);
        Assert.Null(record.LastWriteMs);
    }

    [Fact]
    public void PassCompleted_OnlyOnceEveryPartitionPassed_TheLastCompletes()
    {
        var metrics = new Gateway.Diagnostics.GatewayMetrics(["/"]);
        var ring = new BroadcastRing(16);
        var tracker = new PromptTracker(ring, partitions: 2, metrics, NullLogger.Instance);
        var broadcaster = new Broadcaster(ring, new NoSignal(), new ChannelRegistry(), metrics, [Encoding.ASCII.GetBytes("/")], tracker: tracker);
        broadcaster.PublishPacket(0, -1, "2[\"a\"]"u8, "a");
        DeliveryTally first = tracker.NewPartitionTally();
        first.Delivered(0, Stopwatch.GetTimestamp());
        first.Delivered(0, Stopwatch.GetTimestamp());
        first.FoldAll();

        tracker.PassCompleted(0, ring.Head);
        PromptRecord record = tracker.Find(0)!;
        Assert.False(record.Complete);
        Assert.Equal(2, record.Recipients);

        DeliveryTally second = tracker.NewPartitionTally();
        second.Delivered(0, Stopwatch.GetTimestamp());
        second.FoldAll();
        tracker.PassCompleted(1, ring.Head);
        Assert.True(record.Complete);
        Assert.Equal(3, record.Recipients);
    }

    [Fact]
    public void Recent_NewestFirst_KeepsTheLast256()
    {
        using var harness = new SessionHarness(o => o.RingCapacity = 1024);
        for (int i = 0; i < 300; i++)
        {
            harness.Broadcast("2[\"prompt\",1]", "p" + i);
        }

        List<PromptRecord> recent = harness.Runtime.Context.Tracker!.Recent(1000);
        Assert.Equal(PromptTracker.Kept, recent.Count);
        Assert.Equal("p299", recent[0].Id);
        Assert.Equal("p" + (300 - PromptTracker.Kept), recent[^1].Id);
        Assert.Null(harness.Runtime.Context.Tracker.Find(10)); // evicted once complete
        Assert.Equal(["p299", "p298"], harness.Runtime.Context.Tracker.Recent(2).Select(r => r.Id));
    }

    [Fact]
    public void Off_NoRecordsAndSessionsStillReceive()
    {
        using var harness = new SessionHarness(o => o.Diagnostics.PromptLifecycle = false);
        (EngineSession session, var output) = harness.OpenWebSocket();
        harness.Broadcast("2[\"prompt\",1]", "p-off");
        Assert.Null(harness.Runtime.Context.Tracker);
        Assert.False(session.IsClosed);
        Assert.True(output.Reader.TryRead(out var read) && read.Buffer.Length > 0);
    }

    private static EngineSession Join(SessionHarness harness, string auth)
    {
        (EngineSession session, _) = harness.OpenWebSocket();
        session.OnWebSocketMessage(Gateway.Protocol.WebSockets.WebSocketOpcode.Text, Encoding.UTF8.GetBytes("40" + auth));
        return session;
    }

    private sealed class NoSignal : IRingSignal
    {
        public void Signal()
        {
        }
    }
}
