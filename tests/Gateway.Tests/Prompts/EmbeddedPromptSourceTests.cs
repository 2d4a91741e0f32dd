using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.Prompts;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Prompts;

/// <summary>
/// Embedded mode: the admin publish goes into this gateway's broadcaster — at once, or a timed prompt at its reveal
/// less its send-ahead, on a fake clock.
/// </summary>
public sealed class EmbeddedPromptSourceTests : IDisposable
{
    private const long T0 = 1_764_700_000_000;

    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds(T0));
    private BroadcastContext _context = null!;
    private EmbeddedPromptSource _source = null!;
    private long _read;

    public EmbeddedPromptSourceTests() => Build(sendAhead: 0);

    private void Build(int sendAhead)
    {
        var options = new GatewayOptions { FanOutWorkers = 1, RingCapacity = 16 };
        options.Reveal.SendAhead = sendAhead;
        options.Normalize();
        _context = new BroadcastContext(Options.Create(options), NullLoggerFactory.Instance);
        _source = new EmbeddedPromptSource(_context, _time);
    }

    public void Dispose()
    {
        _source.Dispose();
        _context.Dispose();
    }

    private static PublishRequest Request(string? id = null, long? revealAt = null, long? sendAhead = null)
    {
        using JsonDocument data = JsonDocument.Parse("[{\"q\":\"Who?\"}]");
        return new PublishRequest(0, "/", null, "prompt", data.RootElement.Clone(), id, revealAt, sendAhead);
    }

    /// <summary>The polling records written to the ring since the last call.</summary>
    private List<string> Drain()
    {
        var records = new List<string>();
        var buffer = new ArrayBufferWriter<byte>();
        for (; _read < _context.Ring.Head; _read++)
        {
            buffer.Clear();
            Assert.Equal(RingRead.Done, _context.Ring.TryCopyTo(_read, RingForm.Polling, buffer));
            records.Add(Encoding.UTF8.GetString(buffer.WrittenSpan));
        }

        return records;
    }

    private void Advance(long ms) => _time.Advance(TimeSpan.FromMilliseconds(ms));

    [Fact]
    public async Task PublishAsync_IntoTheRing_ReturnsIdAndSequence()
    {
        long head = _context.Ring.Head;

        PublishOutcome outcome = await _source.PublishAsync(Request("q-1"));

        Assert.Equal(PublishStatus.Accepted, outcome.Status);
        Assert.Equal("q-1", outcome.Id);
        Assert.Null(outcome.StreamId);
        Assert.Equal(head + 1, _context.Ring.Head);
        Assert.Equal(_context.Ring.Head, outcome.Sequence + 1);
    }

    [Fact]
    public async Task PublishAsync_NoId_GetsOne()
    {
        PublishOutcome outcome = await _source.PublishAsync(Request());

        Assert.Equal(PublishStatus.Accepted, outcome.Status);
        Assert.False(string.IsNullOrEmpty(outcome.Id));
    }

    [Fact]
    public async Task PublishAsync_RevealInThreeSecondsNoSendAhead_HeldUntilTheRevealAndUntagged()
    {
        PublishOutcome outcome = await _source.PublishAsync(Request("q-1", revealAt: T0 + 3000));

        Assert.Equal((PublishStatus.Accepted, "q-1", T0 + 3000), (outcome.Status, outcome.Id, outcome.PushAtMs));
        Advance(2999);
        Assert.Empty(Drain());
        Assert.Equal(1, _source.Held);
        Advance(1);
        Assert.Equal(["42[\"prompt\",{\"q\":\"Who?\"}]"], Drain());
        Assert.Equal(0, _source.Held);
    }

    [Fact]
    public async Task PublishAsync_SendAheadTwoSeconds_PushedTwoSecondsEarlyWithItsRevealInstant()
    {
        _source.Dispose();
        _context.Dispose();
        Build(sendAhead: 2000);

        PublishOutcome outcome = await _source.PublishAsync(Request("q-1", revealAt: T0 + 3000));

        Assert.Equal(T0 + 1000, outcome.PushAtMs);
        Advance(999);
        Assert.Empty(Drain());
        Advance(1);
        Assert.Equal([$"42[\"prompt\",{{\"q\":\"Who?\"}},{{\"id\":\"q-1\",\"revealAt\":{T0 + 3000}}}]"], Drain());
    }

    [Fact]
    public async Task PublishAsync_RevealNearerThanTheSendAhead_PushedAtOnceWithItsRevealInstant()
    {
        PublishOutcome outcome = await _source.PublishAsync(Request("q-1", revealAt: T0 + 500, sendAhead: 2000));

        Assert.Null(outcome.PushAtMs);
        Assert.Equal([$"42[\"prompt\",{{\"q\":\"Who?\"}},{{\"id\":\"q-1\",\"revealAt\":{T0 + 500}}}]"], Drain());
    }

    [Fact]
    public async Task PublishAsync_UntimedWithSendAhead_TaggedWithItsIdOnly()
    {
        await _source.PublishAsync(Request("q-1", sendAhead: 2000));

        Assert.Equal(["42[\"prompt\",{\"q\":\"Who?\"},{\"id\":\"q-1\"}]"], Drain());
    }

    [Fact]
    public async Task PublishAsync_PromptOverridesTheSendAheadWithZero_HeldUntilTheRevealAndUntagged()
    {
        _source.Dispose();
        _context.Dispose();
        Build(sendAhead: 2000);

        await _source.PublishAsync(Request("q-1", revealAt: T0 + 3000, sendAhead: 0));

        Advance(2999);
        Assert.Empty(Drain());
        Advance(1);
        Assert.Equal(["42[\"prompt\",{\"q\":\"Who?\"}]"], Drain());
    }

    [Fact]
    public async Task PublishAsync_TwoHeld_PushedInRevealOrderThenPublishOrder()
    {
        await _source.PublishAsync(Request("late", revealAt: T0 + 2000));
        await _source.PublishAsync(Request("early", revealAt: T0 + 1000));
        await _source.PublishAsync(Request("early-too", revealAt: T0 + 1000));

        Advance(1000);
        Assert.Equal(2, Drain().Count);
        Assert.Equal(1, _source.Held);
        Advance(1000);
        Assert.Single(Drain());
    }

    [Fact]
    public async Task PublishAsync_Timed_AnswersAreEarlyUntilTheReveal()
    {
        await _source.PublishAsync(Request("q-1", revealAt: T0 + 3000, sendAhead: 2000));

        Assert.True(_context.Reveals.IsEarly("q-1", T0 + 2999));
        Assert.False(_context.Reveals.IsEarly("q-1", T0 + 3000));
        Assert.False(_context.Reveals.IsEarly("q-2", T0));
    }

    [Fact]
    public async Task PublishAsync_RevealInThePast_AtOnceUntagged()
    {
        PublishOutcome outcome = await _source.PublishAsync(Request("q-1", revealAt: T0 - 1, sendAhead: 2000));

        Assert.Null(outcome.PushAtMs);
        Assert.Equal(["42[\"prompt\",{\"q\":\"Who?\"},{\"id\":\"q-1\"}]"], Drain());
        Assert.False(_context.Reveals.IsEarly("q-1", T0));
    }

    [Fact]
    public void Readiness_PositionAndStream_AreThoseOfNoStream()
    {
        Assert.Null(_source.NotReadyReason);
        Assert.Equal(default, _source.Position);
        Assert.Null(_source.Stream);
    }
}
