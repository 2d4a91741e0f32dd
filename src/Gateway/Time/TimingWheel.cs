using System.Collections.Concurrent;
using System.Numerics;
using Gateway.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Gateway.Time;

/// <summary>Something the <see cref="TimingWheel"/> calls back; one entry lives in at most one slot.</summary>
public abstract class WheelEntry
{
    internal WheelEntry? WheelNext;
    internal long WheelDue;

    /// <summary>
    /// Called on the wheel thread at or after the due time. Returns the next due time (ms, the wheel's
    /// <see cref="TimingWheel.Now"/> clock), or -1 to leave the wheel.
    /// </summary>
    protected internal abstract long OnTimer(long now);
}

/// <summary>
/// One hashed timing wheel for every heartbeat, ping timeout and connect deadline of the process, so that an idle
/// socket costs no timer, task or cancellation source. Entries are intrusive (no allocation per schedule); new ones
/// arrive through a queue, and only the wheel thread touches the slots.
/// </summary>
/// <remarks>
/// Time comes from the injected <see cref="TimeProvider"/>: tests drive it with a fake clock and call
/// <see cref="RunDue"/> themselves instead of starting the thread (<see cref="Start"/>); <see cref="Dispose"/> joins it.
/// </remarks>
public sealed class TimingWheel : IDisposable
{
    private readonly WheelEntry?[] _slots;
    private readonly int _mask;
    private readonly int _tickMs;
    private readonly ConcurrentQueue<WheelEntry> _incoming = new();
    private readonly Thread _thread;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly long _timestampsPerMs;
    private volatile bool _stopping;
    private long _processedTick;

    public TimingWheel(TimeProvider time, ILogger logger, int tickMs = 10, int slotCount = 1024)
    {
        if (!BitOperations.IsPow2(slotCount))
        {
            throw new ArgumentOutOfRangeException(nameof(slotCount), slotCount, "a power of two");
        }

        _time = time;
        // Stopwatch ticks (ns on Linux) or TimeSpan ticks (FakeTimeProvider): both whole multiples of a millisecond.
        _timestampsPerMs = Math.Max(1, time.TimestampFrequency / 1000);
        _logger = logger;
        _tickMs = tickMs;
        _slots = new WheelEntry?[slotCount];
        _mask = slotCount - 1;
        _processedTick = Now / tickMs;
        _thread = new Thread(Run) { IsBackground = true, Name = "gateway-timing-wheel" };
    }

    /// <summary>The wheel's clock: milliseconds, monotonic, from the injected <see cref="TimeProvider"/>.</summary>
    public long Now => _time.GetTimestamp() / _timestampsPerMs;

    /// <summary>Starts the wheel's thread, which runs due entries every tick.</summary>
    public void Start() => _thread.Start();

    /// <summary>Runs every entry due by <see cref="Now"/> on the calling thread (what the wheel's thread does each tick).</summary>
    internal void RunDue() => Advance(Now);

    public int TickMs => _tickMs;

    /// <summary>Adds an entry due at <paramref name="due"/>. Thread-safe; the entry must not be in the wheel already.</summary>
    public void Schedule(WheelEntry entry, long due)
    {
        entry.WheelDue = due;
        _incoming.Enqueue(entry);
    }

    private void Place(WheelEntry entry)
    {
        long tick = Math.Max(entry.WheelDue / _tickMs, _processedTick + 1);
        ref WheelEntry? head = ref _slots[(int)(tick & _mask)];
        entry.WheelNext = head;
        head = entry;
    }

    private void Run()
    {
        while (!_stopping)
        {
            Thread.Sleep(_tickMs);
            try
            {
                Advance(Now);
            }
            catch (Exception ex)
            {
                Log.WheelTickFailed(_logger, ex);
            }
        }
    }

    // Visits every slot between the last processed tick and now; entries not yet due (a later lap) go back in.
    private void Advance(long now)
    {
        while (_incoming.TryDequeue(out WheelEntry? added))
        {
            Place(added);
        }

        long currentTick = now / _tickMs;
        // After a long stall visit each slot once, not once per missed lap.
        long from = Math.Max(_processedTick + 1, currentTick - _mask);
        for (long tick = from; tick <= currentTick; tick++)
        {
            ref WheelEntry? head = ref _slots[(int)(tick & _mask)];
            WheelEntry? entry = head;
            head = null;
            _processedTick = tick;
            while (entry is not null)
            {
                WheelEntry? next = entry.WheelNext;
                entry.WheelNext = null;
                if (entry.WheelDue > now)
                {
                    Place(entry);
                }
                else
                {
                    long due;
                    try
                    {
                        due = entry.OnTimer(now);
                    }
                    catch (Exception ex)
                    {
                        Log.TimerFailed(_logger, ex);
                        due = -1;
                    }

                    if (due >= 0)
                    {
                        entry.WheelDue = due;
                        Place(entry);
                    }
                }

                entry = next;
            }
        }

        _processedTick = currentTick;
    }

    public void Dispose()
    {
        _stopping = true;
        if (_thread.IsAlive && _thread != Thread.CurrentThread)
        {
            _thread.Join();
        }
    }
}
