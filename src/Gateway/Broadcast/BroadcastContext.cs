using System.Text;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Broadcast;

/// <summary>
/// The process-wide delivery pieces: the namespaces served, the ring, the channels, the fan-out, the broadcaster and
/// the metrics. What a prompt source needs to deliver (and, on a stream gap, to close every socket) without knowing
/// the Engine.IO runtime that sessions use. One per gateway (a DI singleton, or owned by a runtime built by hand).
/// </summary>
internal sealed class BroadcastContext : IDisposable
{
    public BroadcastContext(IOptions<GatewayOptions> options, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        GatewayOptions o = options.Value;
        NamespaceNames = o.Namespaces.ToArray();
        Namespaces = NamespaceNames.Select(n => Encoding.ASCII.GetBytes(n)).ToArray();
        Metrics = new GatewayMetrics(NamespaceNames);
        Metrics.DescribeChannelRefusals(ChannelRefusals.Names);
        Ring = new BroadcastRing(o.RingCapacity);
        Channels = new ChannelRegistry(o.Channels.Max, o.Channels.NewPerSecond, time);
        int workers = o.FanOutWorkers > 0 ? o.FanOutWorkers : Environment.ProcessorCount;
        Tracker = o.Diagnostics.PromptLifecycle
            ? new PromptTracker(Ring, workers, Metrics, loggerFactory.CreateLogger(PromptTracker.LogCategory))
            : null;
        FanOut = new FanOut(workers, loggerFactory.CreateLogger<FanOut>(), Tracker, o.FanOutNice);
        Broadcaster = new Broadcaster(Ring, FanOut, Channels, Metrics, Namespaces, lateJoinMaxAge: o.LateJoin.MaxAge ?? 0, Tracker, time);
        Metrics.ObserveRingLag(() => RingLag);
        SendAheadMs = o.Reveal.SendAhead;
    }

    public string[] NamespaceNames { get; }

    public byte[][] Namespaces { get; }

    public GatewayMetrics Metrics { get; }

    public BroadcastRing Ring { get; }

    public ChannelRegistry Channels { get; }


    public FanOut FanOut { get; }

    public Broadcaster Broadcaster { get; }

    /// <summary>Prompts whose reveal has not come: answers to them are refused as too early.</summary>
    public PendingReveals Reveals { get; } = new();

    /// <summary><c>Gateway:Reveal:SendAhead</c>: a prompt's send-ahead when it names none.</summary>
    public long SendAheadMs { get; }

    /// <summary>Prompt lifecycle records (<c>Gateway:Diagnostics:PromptLifecycle</c>); null when off.</summary>
    public PromptTracker? Tracker { get; }

    /// <summary>Ring messages the slowest socket has not been sent yet, as of the fan-out's last pass.</summary>
    public long RingLag
    {
        get
        {
            long head = Ring.Head;
            return head - Math.Min(head, FanOut.SlowestCursor);
        }
    }

    /// <summary>Index of a configured namespace, or -1.</summary>
    public int FindNamespace(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < Namespaces.Length; i++)
        {
            if (name.SequenceEqual(Namespaces[i]))
            {
                return i;
            }
        }

        return -1;
    }

    public int FindNamespace(string name) => Array.IndexOf(NamespaceNames, name);

    /// <summary>A gap in the prompt stream: every member closes so its client reconnects and resyncs.</summary>
    public int ResyncAll()
    {
        int closed = 0;
        FanOut.ForEach(member =>
        {
            if (member.CloseForResync())
            {
                closed++;
            }
        });
        return closed;
    }

    public void Dispose()
    {
        FanOut.Dispose();
        Metrics.Dispose();
    }
}
