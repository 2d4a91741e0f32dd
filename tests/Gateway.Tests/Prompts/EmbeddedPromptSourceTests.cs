using System.Text.Json;
using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.Prompts;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Gateway.Tests.Prompts;

/// <summary>Embedded mode: the admin publish goes straight into this gateway's broadcaster.</summary>
public sealed class EmbeddedPromptSourceTests : IDisposable
{
    private readonly BroadcastContext _context;
    private readonly EmbeddedPromptSource _source;

    public EmbeddedPromptSourceTests()
    {
        var options = new GatewayOptions { FanOutWorkers = 1, RingCapacity = 16 };
        options.Normalize();
        _context = new BroadcastContext(Options.Create(options), NullLoggerFactory.Instance);
        _source = new EmbeddedPromptSource(_context.Broadcaster);
    }

    public void Dispose() => _context.Dispose();

    private static PublishRequest Request(string? id = null, long? revealAt = null)
    {
        using JsonDocument data = JsonDocument.Parse("[{\"q\":\"Who?\"}]");
        return new PublishRequest(0, "/", null, "prompt", data.RootElement.Clone(), id, revealAt);
    }

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
    public async Task PublishAsync_RevealAt_IsInvalidWithoutRedis()
    {
        long head = _context.Ring.Head;

        PublishOutcome outcome = await _source.PublishAsync(Request("q-1", revealAt: 1764700000000));

        Assert.Equal(PublishStatus.Invalid, outcome.Status);
        Assert.Equal("revealAt needs Redis mode (Gateway:Redis:Configuration)", outcome.Error);
        Assert.Equal(head, _context.Ring.Head);
    }

    [Fact]
    public void Readiness_PositionAndStream_AreThoseOfNoStream()
    {
        Assert.Null(_source.NotReadyReason);
        Assert.Equal(default, _source.Position);
        Assert.Null(_source.Stream);
    }
}
