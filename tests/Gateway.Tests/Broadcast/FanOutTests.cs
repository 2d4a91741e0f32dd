using Gateway.Broadcast;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Tests.Broadcast;

public class FanOutTests
{
    [Fact]
    public void Pass_OneMemberThrows_TheOthersAreStillPumpedAndTheFaultyOneIsToldAndDropped()
    {
        using var fanOut = new FanOut(workers: 1, NullLogger.Instance);
        var before = new Member();
        var faulty = new Member { Throws = true };
        var after = new Member();
        fanOut.Add(before);
        fanOut.Add(faulty);
        fanOut.Add(after);

        fanOut.PassAll();

        Assert.Equal(1, before.Pumps);
        Assert.Equal(1, after.Pumps);
        Assert.IsType<InvalidOperationException>(faulty.Failure);
        Assert.True(faulty.IsClosed);

        fanOut.PassAll();
        Assert.Equal(1, faulty.Pumps); // dropped: never pumped again
        Assert.Equal(2, before.Pumps);
        Assert.Equal(2, after.Pumps);
    }

    [Fact]
    public void ForEach_VisitsEveryLiveMemberOfEveryPartition()
    {
        using var fanOut = new FanOut(workers: 3, NullLogger.Instance);
        var members = Enumerable.Range(0, 10).Select(_ => new Member()).ToArray();
        foreach (Member member in members)
        {
            fanOut.Add(member);
        }

        members[4].Close();
        fanOut.PassAll(); // drops the closed one

        var seen = new List<Member>();
        fanOut.ForEach(member => seen.Add((Member)member));
        Assert.Equal(members.Where(m => !m.IsClosed).ToHashSet(), seen.ToHashSet());
        Assert.Equal(9, seen.Count);
    }

    [Fact]
    public void ResyncAll_ClosesEveryOpenMember_CountsThoseItClosed()
    {
        var context = new BroadcastContext(Microsoft.Extensions.Options.Options.Create(new Gateway.Configuration.GatewayOptions { FanOutWorkers = 2 }), NullLoggerFactory.Instance);
        using (context)
        {
            var members = Enumerable.Range(0, 5).Select(_ => new Member()).ToArray();
            foreach (Member member in members)
            {
                context.FanOut.Add(member);
            }

            members[0].CloseForResync();
            Assert.Equal(4, context.ResyncAll());
            Assert.All(members, member => Assert.True(member.IsClosed));
        }
    }

    [Fact]
    public void Signal_StartedWorkers_PumpEveryMember()
    {
        using var fanOut = new FanOut(workers: 2, NullLogger.Instance);
        var members = Enumerable.Range(0, 4).Select(_ => new Member()).ToArray();
        foreach (Member member in members)
        {
            fanOut.Add(member);
        }

        fanOut.Start();
        fanOut.Signal();
        foreach (Member member in members)
        {
            Assert.True(member.Pumped.Wait(TimeSpan.FromSeconds(30)), "a worker pumps every member after a signal");
        }
    }

    private sealed class Member : IFanOutMember
    {
        private volatile bool _closed;

        public bool Throws { get; init; }

        public int Pumps;

        public Exception? Failure;

        public readonly ManualResetEventSlim Pumped = new();

        public bool IsClosed => _closed;

        public void Close() => _closed = true;

        public long Cursor => 0;

        public void PumpBroadcasts(DeliveryTally? tally)
        {
            Interlocked.Increment(ref Pumps);
            Pumped.Set();
            if (Throws)
            {
                throw new InvalidOperationException("faulty member");
            }
        }

        public void OnPumpFailed(Exception exception)
        {
            Failure = exception;
            _closed = true;
        }

        public bool CloseForResync()
        {
            bool wasOpen = !_closed;
            _closed = true;
            return wasOpen;
        }
    }
}
