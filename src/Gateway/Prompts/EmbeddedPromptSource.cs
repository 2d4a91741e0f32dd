using System.Text.Json;
using Gateway.Broadcast;

namespace Gateway.Prompts;

/// <summary>
/// Embedded mode: prompts come only from this gateway's admin API and go into its broadcaster — at once, or, when
/// timed (<c>revealAt</c>), at the reveal less the prompt's send-ahead (<see cref="RevealTag.PushAt"/>). Always ready;
/// there is no stream, so no position.
/// </summary>
/// <remarks>
/// Held prompts wait in a queue ordered by push instant (then by publish order) behind one timer on the injected clock;
/// the timer's callback pushes what is due. Thread-safe. Held prompts are lost when the process stops (there is no
/// stream to reload them from).
/// </remarks>
internal sealed class EmbeddedPromptSource : IPromptSource, IDisposable
{
    private readonly BroadcastContext _context;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly PriorityQueue<HeldPrompt, (long PushAt, long Order)> _held = new();
    private readonly ITimer _timer;
    private long _order;
    private long _armedFor = long.MaxValue;

    public EmbeddedPromptSource(BroadcastContext context, TimeProvider time)
    {
        _context = context;
        _time = time;
        _timer = time.CreateTimer(static state => ((EmbeddedPromptSource)state!).PushDue(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public string? NotReadyReason => null;

    /// <summary>Prompts whose answer windows are remembered.</summary>
    public const int RememberedWindows = 100_000;

    public StreamPosition Position => default;

    public AnswerWindows AnswerWindows { get; } = new(RememberedWindows);

    public PromptStreamStats? Stream => null;

    /// <summary>Prompts waiting for their push instant.</summary>
    public int Held
    {
        get
        {
            lock (_lock)
            {
                return _held.Count;
            }
        }
    }

    public ValueTask<PublishOutcome> PublishAsync(PublishRequest request)
    {
        if (request.AnswerUntilMs is < 0 || request.AnswerUntilMs < request.RevealAtMs)
        {
            return new(PublishOutcome.Invalid("answerUntil must be milliseconds since the epoch, not before revealAt"));
        }

        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        string id = request.Id ?? Guid.NewGuid().ToString("N");
        long sendAhead = request.SendAheadMs ?? _context.SendAheadMs;
        RevealTag? tag = RevealTag.For(id, request.RevealAtMs, now, sendAhead);
        long pushAt = RevealTag.PushAt(request.RevealAtMs, now, sendAhead);
        if (request.RevealAtMs is long revealAt)
        {
            _context.Reveals.Add(id, revealAt, now);
        }

        // Open before the push: an answer that follows the prompt at once finds its window.
        AnswerWindows.Open(id, request.AnswerUntilMs);
        if (pushAt <= now)
        {
            PublishResult result = _context.Broadcaster.Publish(request.NamespaceIndex, request.Channel, request.Event, request.Data, id, origin: new PromptOrigin(null, request.RevealAtMs, null), tag: tag);
            return new(PublishOutcome.Delivered(result.Id, result.Sequence));
        }

        // The request's document dies with the request: the held prompt keeps its own copy.
        var held = new HeldPrompt(request.NamespaceIndex, request.Channel, request.Event, request.Data.Clone(), id, request.RevealAtMs, tag);
        lock (_lock)
        {
            _held.Enqueue(held, (pushAt, _order++));
            ArmLocked(now);
        }

        return new(PublishOutcome.Scheduled(id, pushAt));
    }

    /// <summary>Pushes every held prompt whose instant has come, in order, and waits for the next one.</summary>
    public void PushDue()
    {
        lock (_lock)
        {
            long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            _armedFor = long.MaxValue;
            while (_held.TryPeek(out HeldPrompt? held, out (long PushAt, long Order) at) && at.PushAt <= now)
            {
                _held.Dequeue();
                _context.Broadcaster.Publish(held.NamespaceIndex, held.Channel, held.Event, held.Data, held.Id, origin: new PromptOrigin(null, held.RevealAtMs, null), tag: held.Tag);
            }

            ArmLocked(now);
        }
    }

    private void ArmLocked(long now)
    {
        if (_held.TryPeek(out _, out (long PushAt, long Order) next) && next.PushAt < _armedFor)
        {
            _armedFor = next.PushAt;
            _timer.Change(TimeSpan.FromMilliseconds(Math.Max(0, next.PushAt - now)), Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose() => _timer.Dispose();

    private sealed record HeldPrompt(int NamespaceIndex, string? Channel, string Event, JsonElement Data, string Id, long? RevealAtMs, RevealTag? Tag);
}
