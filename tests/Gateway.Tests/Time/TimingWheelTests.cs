using Gateway.Time;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Time;

public class TimingWheelTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void RunDue_BeforeTheDueTime_DoesNotFire_AtIt_FiresOnce()
    {
        using var wheel = new TimingWheel(_time, NullLogger.Instance, tickMs: 10, slotCount: 64);
        var entry = new Entry();
        wheel.Schedule(entry, wheel.Now + 100);

        Advance(wheel, 90);
        Assert.Empty(entry.Fired);

        Advance(wheel, 10);
        Assert.Single(entry.Fired);

        Advance(wheel, 1000);
        Assert.Single(entry.Fired); // it returned -1: it left the wheel
    }

    [Fact]
    public void RunDue_DueBeyondOneLap_FiresOnlyOnTheRightLap()
    {
        // 8 slots of 10 ms: one lap is 80 ms. An entry due in 250 ms sits in a slot visited three times before.
        using var wheel = new TimingWheel(_time, NullLogger.Instance, tickMs: 10, slotCount: 8);
        var entry = new Entry();
        long due = wheel.Now + 250;
        wheel.Schedule(entry, due);

        for (int i = 0; i < 24; i++)
        {
            Advance(wheel, 10);
        }

        Assert.Empty(entry.Fired);
        Advance(wheel, 10);
        Assert.Equal([due], entry.Fired);
    }

    [Fact]
    public void RunDue_AfterAStallOfManyLaps_FiresEachDueEntryOnceAndKeepsRescheduling()
    {
        using var wheel = new TimingWheel(_time, NullLogger.Instance, tickMs: 10, slotCount: 8);
        var periodic = new Entry { Period = 30 };
        var late = new Entry();
        wheel.Schedule(periodic, wheel.Now + 30);
        wheel.Schedule(late, wheel.Now + 5000);
        wheel.RunDue();

        // The thread was starved for 1 s (12 laps): each entry due in that window runs once, not once per lap.
        Advance(wheel, 1000);
        Assert.Single(periodic.Fired);
        Assert.Empty(late.Fired);

        // Re-placed from the time it ran: due again 30 ms later, and only then.
        Advance(wheel, 20);
        Assert.Single(periodic.Fired);
        Advance(wheel, 10);
        Assert.Equal(2, periodic.Fired.Count);

        Advance(wheel, 4000);
        Assert.Single(late.Fired);
    }

    [Fact]
    public void RunDue_EntryReturnsMinusOne_IsCancelled_AndAThrowingEntryDoesNotStopTheOthers()
    {
        using var wheel = new TimingWheel(_time, NullLogger.Instance, tickMs: 10, slotCount: 64);
        var cancelled = new Entry { Period = 10, StopAfter = 1 };
        var throwing = new Entry { Throws = true };
        var other = new Entry();
        wheel.Schedule(cancelled, wheel.Now + 10);
        wheel.Schedule(throwing, wheel.Now + 10);
        wheel.Schedule(other, wheel.Now + 10);

        Advance(wheel, 10);
        Assert.Single(throwing.Fired);
        Assert.Single(other.Fired);
        Assert.Single(cancelled.Fired);

        Advance(wheel, 100);
        Assert.Single(cancelled.Fired);
        Assert.Single(throwing.Fired); // a throwing entry leaves the wheel
    }

    [Fact]
    public void Now_FollowsTheInjectedClockInMilliseconds()
    {
        using var wheel = new TimingWheel(_time, NullLogger.Instance);
        long start = wheel.Now;
        _time.Advance(TimeSpan.FromMilliseconds(1234));
        Assert.Equal(1234, wheel.Now - start);
    }

    private void Advance(TimingWheel wheel, int ms)
    {
        _time.Advance(TimeSpan.FromMilliseconds(ms));
        wheel.RunDue();
    }

    private sealed class Entry : WheelEntry
    {
        public List<long> Fired { get; } = [];

        public int Period { get; init; }

        public int StopAfter { get; init; } = int.MaxValue;

        public bool Throws { get; init; }

        protected internal override long OnTimer(long now)
        {
            Fired.Add(now);
            if (Throws)
            {
                throw new InvalidOperationException("faulty timer");
            }

            return Period > 0 && Fired.Count < StopAfter ? now + Period : -1;
        }
    }
}
