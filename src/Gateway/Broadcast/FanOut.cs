using System.Collections.Concurrent;
using Gateway.Diagnostics;
using Gateway.EngineIO;
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
/// </remarks>
internal sealed class FanOut : IDisposable
{
    private readonly Partition[] _partitions;
    private readonly ILogger _logger;
    private int _nextPartition;
    private volatile bool _stopping;

    public FanOut(int workers, ILogger<FanOut> logger)
    {
        _logger = logger;
        if (workers <= 0)
        {
            workers = Environment.ProcessorCount;
        }

        _partitions = new Partition[workers];
        for (int i = 0; i < workers; i++)
        {
            var partition = new Partition(this, i);
            _partitions[i] = partition;
            partition.Thread.Start();
        }
    }

    public int WorkerCount => _partitions.Length;

    /// <summary>Adds a session to a partition (round-robin). It is visited from the next pass on.</summary>
    public void Add(EngineSession session)
    {
        int index = (int)((uint)Interlocked.Increment(ref _nextPartition) % (uint)_partitions.Length);
        _partitions[index].Incoming.Enqueue(session);
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
    public void ForEach(Action<EngineSession> action)
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
    }

    private sealed class Partition
    {
        private readonly FanOut _owner;
        private readonly int _index;
        public readonly ConcurrentQueue<EngineSession> Incoming = new();
        public readonly SemaphoreSlim Wake = new(0, int.MaxValue);
        public readonly Thread Thread;
        public EngineSession[] Members = new EngineSession[64];
        public int Count;

        public Partition(FanOut owner, int index)
        {
            _owner = owner;
            _index = index;
            Thread = new Thread(Run) { IsBackground = true, Name = $"gateway-fanout-{index}" };
        }

        public void DrainIncoming()
        {
            while (Incoming.TryDequeue(out EngineSession? session))
            {
                if (Count == Members.Length)
                {
                    Array.Resize(ref Members, Members.Length * 2);
                }

                Members[Count++] = session;
            }
        }

        private void Run()
        {
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

        private void Pass()
        {
            lock (this)
            {
                DrainIncoming();
                EngineSession[] members = Members;
                int i = 0;
                while (i < Count)
                {
                    EngineSession session = members[i];
                    if (session.IsClosed)
                    {
                        // Swap-remove: order does not matter, and only this thread touches the array.
                        members[i] = members[--Count];
                        members[Count] = null!;
                        continue;
                    }

                    session.PumpBroadcasts();
                    i++;
                }

                if (Members.Length > 256 && Count < Members.Length / 4)
                {
                    Array.Resize(ref Members, Math.Max(256, Members.Length / 2));
                }
            }
        }
    }
}
