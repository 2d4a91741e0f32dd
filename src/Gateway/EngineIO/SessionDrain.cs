using Gateway.Configuration;
using Gateway.Diagnostics;

namespace Gateway.EngineIO;

/// <summary>Where a drain is (<see cref="SessionDrain"/>).</summary>
internal enum DrainState
{
    /// <summary>Not draining: ready, new sessions welcome.</summary>
    Serving,

    /// <summary>Readiness 503 and new sessions refused; waiting <c>Drain:Delay</c> for the balancer to deregister us.</summary>
    Waiting,

    /// <summary>Closing the sessions, paced across <c>Drain:Window</c>.</summary>
    Closing,

    /// <summary>Every session is closed; still not ready (until an undrain, or the exit).</summary>
    Drained,
}

/// <summary>A drain's progress, as <c>GET /v1/stats</c> shows it.</summary>
/// <param name="State">Where the drain is.</param>
/// <param name="Remaining">Sessions still open that the drain will close (0 when serving).</param>
/// <param name="Closed">Sessions this drain closed so far.</param>
/// <param name="ForShutdown">The process exits after it (SIGTERM): it cannot be undone.</param>
internal readonly record struct DrainProgress(DrainState State, long Remaining, long Closed, bool ForShutdown);

/// <summary>
/// The paced drain (SIGTERM, <c>POST /v1/drain</c>). From <see cref="Begin"/> on, readiness is 503 and new Engine.IO
/// sessions are refused (<see cref="RefusesSessions"/>); after <c>Drain:Delay</c> — the balancer's deregistration —
/// the sessions open then are closed one by one in random order, close <c>i</c> of <c>N</c> at
/// <c>Delay + Window·i/N</c>, each a recoverable close (Redis mode: its session record), so the clients come back
/// spread evenly over the window instead of landing on the other gateways all at once. Sessions not yet closed keep
/// receiving prompts. <see cref="Undrain"/> stops it: sessions not yet closed stay, and new ones are welcome again.
/// </summary>
/// <remarks>
/// Thread-safe: every change happens under one lock; <see cref="RefusesSessions"/> is a volatile read for the
/// handshake path. Paced on the runtime's <see cref="TimeProvider"/> (tests drive it with a fake clock): one timer per
/// drain, re-armed for the next close that is due. The schedule is computed from the drain's start, not from when the
/// timer happened to fire, so a late timer closes what is due and the pace does not drift.
/// </remarks>
internal sealed class SessionDrain : IDisposable
{
    private readonly GatewayRuntime _runtime;
    private readonly TimeProvider _time;
    private readonly GatewayOptions.DrainOptions _options;
    private readonly object _lock = new();
    private volatile DrainState _state;
    private bool _forShutdown;
    private ITimer? _timer;
    private long _startedAt;
    private TimeSpan _delay;
    private TimeSpan _window;
    private EngineSession?[] _order = [];
    private int _next;
    private long _closed;
    private TaskCompletionSource _completed = NewCompletion();

    public SessionDrain(GatewayRuntime runtime, TimeProvider time)
    {
        _runtime = runtime;
        _time = time;
        _options = runtime.Options.Drain;
    }

    public DrainState State => _state;

    /// <summary>New Engine.IO sessions are refused (503): a drain has begun and was not undone.</summary>
    public bool RefusesSessions => _state != DrainState.Serving;

    /// <summary>Completes when the drain has closed every session (or is undone).</summary>
    public Task Completion
    {
        get
        {
            lock (_lock)
            {
                return _completed.Task;
            }
        }
    }

    public DrainProgress Progress
    {
        get
        {
            lock (_lock)
            {
                return new DrainProgress(_state, _runtime.Metrics.DrainRemaining, _closed, _forShutdown);
            }
        }
    }

    /// <summary>
    /// Starts a drain with the configured <c>Drain:Delay</c> and <c>Drain:Window</c>: from now on readiness is 503 and
    /// new sessions are refused. False when one is already in progress or done (it goes on as it was); with
    /// <paramref name="forShutdown"/> that one cannot be undone any more either.
    /// </summary>
    public bool Begin(bool forShutdown)
    {
        lock (_lock)
        {
            _forShutdown |= forShutdown;
            if (_state != DrainState.Serving)
            {
                return false;
            }

            _state = DrainState.Waiting;
            _runtime.Metrics.Draining(true);
            _completed = NewCompletion();
            _closed = 0;
            _next = 0;
            _order = [];
            // The delay keeps sockets while the balancer deregisters us; with none open there is nothing to keep.
            _delay = forShutdown && _runtime.Metrics.Connections == 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(_options.Delay);
            _window = TimeSpan.FromMilliseconds(_options.Window);
            _startedAt = _time.GetTimestamp();
            Log.DrainStarted(_runtime.Logger, forShutdown ? "shutdown" : "admin", _runtime.Metrics.Connections, _options.Delay, _options.Window);
            _timer = _time.CreateTimer(static state => ((SessionDrain)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            Advance();
            return true;
        }
    }

    /// <summary>
    /// Stops a drain: sessions not yet closed stay, readiness is back and new sessions are welcome. False when the
    /// drain is the shutdown's (the process is exiting).
    /// </summary>
    public bool Undrain()
    {
        lock (_lock)
        {
            if (_forShutdown)
            {
                return false;
            }

            if (_state == DrainState.Serving)
            {
                return true;
            }

            StopTimerLocked();
            _state = DrainState.Serving;
            _runtime.Metrics.Draining(false);
            _order = [];
            Log.DrainUndone(_runtime.Logger, _closed, _runtime.Metrics.Connections);
            _completed.TrySetResult();
            return true;
        }
    }

    private void OnTimer()
    {
        lock (_lock)
        {
            Advance();
        }
    }

    /// <summary>Does whatever is due by now (the delay's end, the closes whose turn came) and arms the timer for the next.</summary>
    private void Advance()
    {
        if (_state is DrainState.Serving or DrainState.Drained)
        {
            return;
        }

        TimeSpan elapsed = _time.GetElapsedTime(_startedAt);
        if (elapsed < _delay)
        {
            _timer!.Change(_delay - elapsed, Timeout.InfiniteTimeSpan);
            return;
        }

        if (_state == DrainState.Waiting)
        {
            BeginClosingLocked();
        }

        int total = _order.Length;
        long sinceClosingBegan = (elapsed - _delay).Ticks;
        long windowTicks = _window.Ticks;
        // Close i is due at Delay + Window·i/N: i·Window <= t·N. Exact in ticks, so a fake clock sees the schedule to the tick.
        int due = windowTicks == 0 || sinceClosingBegan >= windowTicks
            ? total
            : (int)Math.Min(total, (sinceClosingBegan * total / windowTicks) + 1);
        for (; _next < due; _next++)
        {
            EngineSession session = _order[_next]!;
            _order[_next] = null;
            if (session.Close(CloseReason.Drained, clientInitiated: false))
            {
                _closed++;
                _runtime.Metrics.DrainClosedSession();
            }
        }

        if (_next < total)
        {
            // The first tick at which close _next is due: ceil(Window·_next / N).
            long nextDue = ((windowTicks * _next) + total - 1) / total;
            _timer!.Change(TimeSpan.FromTicks(nextDue - sinceClosingBegan), Timeout.InfiniteTimeSpan);
            return;
        }

        // A session that opened while the drain began (its handshake had passed the check) was not in the order.
        _closed += _runtime.CloseAll(CloseReason.Drained);
        StopTimerLocked();
        _state = DrainState.Drained;
        _order = [];
        Log.DrainDone(_runtime.Logger, _closed);
        _completed.TrySetResult();
    }

    /// <summary>The delay is over: every open session gets its turn, in random order.</summary>
    private void BeginClosingLocked()
    {
        var sessions = new List<EngineSession>((int)Math.Min(int.MaxValue, _runtime.Metrics.Connections));
        _runtime.FanOut.ForEach(member => sessions.Add((EngineSession)member));
        EngineSession?[] order = sessions.ToArray();
        // Random order: neighbours in the session table (same network, same arrival burst) do not leave together.
        Random.Shared.Shuffle(order);
        _order = order;
        _next = 0;
        _state = DrainState.Closing;
        Log.DrainClosing(_runtime.Logger, order.Length, order.Length == 0 ? 0 : _window.TotalMilliseconds / order.Length);
    }

    private void StopTimerLocked()
    {
        _timer?.Dispose();
        _timer = null;
    }

    private static TaskCompletionSource NewCompletion() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose()
    {
        lock (_lock)
        {
            StopTimerLocked();
        }
    }
}
