using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Gateway.Time;

/// <summary>Something the <see cref="TimingWheel"/> calls back; one entry lives in at most one slot.</summary>
public abstract class WheelEntry
{
    internal WheelEntry? WheelNext;
    internal long WheelDue;

    /// <summary>
    /// Called on the wheel thread at or after the due time. Returns the next due time (ms, <see cref="TimingWheel.Now"/>
    /// clock), or -1 to leave the wheel.
    /// </summary>
    protected internal abstract long OnTimer(long now);
}

/// <summary>
/// One hashed timing wheel for every heartbeat, ping timeout and connect deadline of the process, so that an idle
/// socket costs no timer, task or cancellation source. Entries are intrusive (no allocation per schedule); new ones
/// arrive through a queue, and only the wheel thread touches the slots.
/// </summary>
public sealed class TimingWheel : IDisposable
{
    private readonly WheelEntry?[] _slots;
    private readonly int _mask;
    private readonly int _tickMs;
    private readonly ConcurrentQueue<WheelEntry> _incoming = new();
    private readonly Thread _thread;
    private readonly ILogger _logger;
    private volatile bool _stopping;
    private long _processedTick;

    public TimingWheel(ILogger<TimingWheel> logger, int tickMs = 10, int slotCount = 1024)
    {
        _logger = logger;
        _tickMs = tickMs;
        _slots = new WheelEntry?[slotCount];
        _mask = slotCount - 1;
        _processedTick = Now / tickMs;
        _thread = new Thread(Run) { IsBackground = true, Name = "gateway-timing-wheel" };
        _thread.Start();
    }

    /// <summary>The wheel's clock: milliseconds, monotonic.</summary>
    public static long Now => Environment.TickCount64;

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
                _logger.LogError(ex, "Timing wheel tick failed");
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
                        _logger.LogError(ex, "Timer callback failed");
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
    }
}
