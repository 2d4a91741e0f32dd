using System.Collections.Concurrent;
using Gateway.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Gateway.Broadcast;

/// <summary>
/// One worker thread per core, each owning a partition of the sessions. A publish wakes every worker; each walks
/// its partition and lets every session copy what its cursor has not yet sent from the ring into its pipe and
/// flush. With Kestrel's inline scheduling the flush performs the socket send on this thread, so the kernel work of
/// a broadcast is spread over all cores.
/// </summary>
/// <remarks>
/// Only the worker mutates its member array; new sessions arrive through a queue, closed ones are dropped when met.
/// The partition lock is held by the worker for a whole pass and taken by rare enumerations (admin disconnect).
/// A member whose pump throws is told so and dropped; the pass goes on with the next member. The workers start with
/// <see cref="Start"/> and are joined by <see cref="Dispose"/>.
/// </remarks>
internal sealed class FanOut : IRingSignal, IDisposable
{
    private readonly Partition[] _partitions;
    private readonly ILogger _logger;
    private readonly PromptTracker? _tracker;
    private readonly int _nice;
    private int _nextPartition;
    private volatile bool _stopping;

    /// <param name="workers">Worker threads (partitions); 0 = one per core.</param>
    /// <param name="logger">Worker failures.</param>
    /// <param name="tracker">Prompt lifecycle: partitions count writes and report passes to it; null = not tracked.</param>
    /// <param name="nice">The workers' nice value (Linux); 0 = the process's.</param>
    public FanOut(int workers, ILogger logger, PromptTracker? tracker = null, int nice = 0)
    {
        _logger = logger;
        _tracker = tracker;
        _nice = nice;
        if (workers <= 0)
        {
            workers = Environment.ProcessorCount;
        }

        _partitions = new Partition[workers];
        for (int i = 0; i < workers; i++)
        {
            _partitions[i] = new Partition(this, i);
        }
    }

    public int WorkerCount => _partitions.Length;

    /// <summary>
    /// The cursor of the slowest live member as of each partition's last pass (<see cref="long.MaxValue"/> when
    /// there is none): the ring lag gauge is the head minus this.
    /// </summary>
    public long SlowestCursor
    {
        get
        {
            long slowest = long.MaxValue;
            foreach (Partition partition in _partitions)
            {
                slowest = Math.Min(slowest, Volatile.Read(ref partition.SlowestCursor));
            }

            return slowest;
        }
    }

    /// <summary>Starts the worker threads. Without it (benchmarks, tests) callers pump members themselves.</summary>
    public void Start()
    {
        foreach (Partition partition in _partitions)
        {
            partition.Thread.Start();
        }
    }

    /// <summary>One pass over every partition on the calling thread (tests; the workers do this on a signal).</summary>
    internal void PassAll()
    {
        foreach (Partition partition in _partitions)
        {
            partition.Pass();
        }
    }

    /// <summary>Adds a session to a partition (round-robin). It is visited from the next pass on.</summary>
    public void Add(IFanOutMember member)
    {
        int index = (int)((uint)Interlocked.Increment(ref _nextPartition) % (uint)_partitions.Length);
        _partitions[index].Incoming.Enqueue(member);
        // Not signalled: nothing is pending for a new session; the next publish or housekeeping tick picks it up.
    }

    /// <summary>Wakes every worker: the ring has new messages.</summary>
    public void Signal()
    {
        foreach (Partition partition in _partitions)
        {
            partition.Wake.Release();
        }
    }

    /// <summary>Visits every live session (admin operations; not on the broadcast path).</summary>
    public void ForEach(Action<IFanOutMember> action)
    {
        foreach (Partition partition in _partitions)
        {
            lock (partition)
            {
                partition.DrainIncoming();
                for (int i = 0; i < partition.Count; i++)
                {
                    action(partition.Members[i]);
                }
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        Signal();
        foreach (Partition partition in _partitions)
        {
            if (partition.Thread.IsAlive && partition.Thread != Thread.CurrentThread)
            {
                partition.Thread.Join();
            }
        }
    }

    private sealed class Partition
    {
        private readonly FanOut _owner;
        private readonly int _index;
        private readonly DeliveryTally? _tally;
        public readonly ConcurrentQueue<IFanOutMember> Incoming = new();
        public readonly SemaphoreSlim Wake = new(0, int.MaxValue);
        public readonly Thread Thread;
        public IFanOutMember[] Members = new IFanOutMember[64];
        public int Count;
        public long SlowestCursor = long.MaxValue;

        public Partition(FanOut owner, int index)
        {
            _owner = owner;
            _index = index;
            _tally = owner._tracker?.NewPartitionTally();
            Thread = new Thread(Run) { IsBackground = true, Name = $"gateway-fanout-{index}" };
        }

        public void DrainIncoming()
        {
            while (Incoming.TryDequeue(out IFanOutMember? member))
            {
                if (Count == Members.Length)
                {
                    Array.Resize(ref Members, Members.Length * 2);
                }

                Members[Count++] = member;
            }
        }

        private void Run()
        {
            if (_owner._nice != 0 && !ThreadNice.TrySet(_owner._nice, out int error))
            {
                Log.FanOutNiceRefused(_owner._logger, _index, _owner._nice, error);
            }

            while (!_owner._stopping)
            {
                // The timeout is housekeeping: admit new sessions and drop closed ones even when nothing is published.
                Wake.Wait(1000);
                // Several publishes may have signalled during the last pass: one pass serves them all.
                while (Wake.CurrentCount > 0 && Wake.Wait(0))
                {
                }

                try
                {
                    Pass();
                }
                catch (Exception ex)
                {
                    Log.FanOutFailed(_owner._logger, _index, ex);
                }
            }
        }

        public void Pass()
        {
            lock (this)
            {
                // Read before any member: each is offered at least everything below it during this pass.
                long head = _owner._tracker?.RingHead ?? 0;
                DrainIncoming();
                IFanOutMember[] members = Members;
                long slowest = long.MaxValue;
                int i = 0;
                while (i < Count)
                {
                    IFanOutMember member = members[i];
                    if (member.IsClosed)
                    {
                        // Swap-remove: order does not matter, and only this thread touches the array.
                        members[i] = members[--Count];
                        members[Count] = null!;
                        continue;
                    }

                    try
                    {
                        member.PumpBroadcasts(_tally);
                    }
                    catch (Exception ex)
                    {
                        // One faulty member must not cost its partition the rest of the pass.
                        Log.FanOutMemberFailed(_owner._logger, _index, ex);
                        member.OnPumpFailed(ex);
                    }

                    slowest = Math.Min(slowest, member.Cursor);
                    i++;
                }

                Volatile.Write(ref SlowestCursor, slowest);

                if (_tally is not null)
                {
                    _tally.FoldAll();
                    _owner._tracker!.PassCompleted(_index, head);
                }

                if (Members.Length > 256 && Count < Members.Length / 4)
                {
                    Array.Resize(ref Members, Math.Max(256, Members.Length / 2));
                }
            }
        }
    }
}
