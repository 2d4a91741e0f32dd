using System.Diagnostics.Metrics;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.EngineIO;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

/// <summary>
/// Gives memory back to the OS after a peak. The GC runs only when something allocates, so at idle what a peak left
/// behind (the pipe blocks of sockets that have gone, a burst's buffers) stays committed for as long as the process
/// is quiet — measured: 1.2 GB resident with no socket left, 150 s after 6,000 sockets had 20-prompt bursts of 60 KB.
/// </summary>
/// <remarks>
/// <para>The socket transport's buffers come from Kestrel's memory pool, which keeps every block returned to it; Kestrel
/// evicts idle blocks a few percent every 10 s (its heartbeat), leaving them to the GC. What is garbage cannot be
/// seen without a collection, so this service counts what the pool evicted (its <c>aspnetcore.memory_pool.evicted</c>
/// counter).</para>
/// <para>Every <c>Gateway:Memory:TrimAfterQuiet</c>: when no collection ran during the whole interval (the process is
/// quiet, so a collection competes with nothing) and since the last trim the pool evicted at least
/// <c>TrimAboveBytes</c>, or the heap grew by that much beyond twice what was live after the last trim (or the last
/// collection), one blocking aggressive collection compacts the heap and decommits what it frees. A busy gateway
/// collects by itself and is not trimmed; an idle one is trimmed again only once the pool has evicted that much more.</para>
/// </remarks>
internal sealed class MemoryTrimService(IOptions<GatewayOptions> options, GatewayRuntime runtime, ILogger<MemoryTrimService> logger, TimeProvider time) : BackgroundService
{
    private const string PoolMeter = "Microsoft.AspNetCore.MemoryPool";
    private const string PoolEvicted = "aspnetcore.memory_pool.evicted";

    private long _evicted;
    private long _liveAfterTrim;
    private int _collections = -1;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        int interval = options.Value.Memory.TrimAfterQuiet;
        if (interval <= 0)
        {
            return;
        }

        using var listener = new MeterListener();
        listener.InstrumentPublished = static (instrument, listener) =>
        {
            if (instrument.Meter.Name == PoolMeter && instrument.Name == PoolEvicted)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, bytes, _, _) => Interlocked.Add(ref _evicted, bytes));
        listener.Start();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(interval), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                TrimIfQuiet();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One check (a timer tick): trims when the last interval was quiet and enough became garbage.</summary>
    private void TrimIfQuiet()
    {
        int collections = GC.CollectionCount(0);
        bool quiet = collections == _collections;
        _collections = collections;
        long threshold = options.Value.Memory.TrimAboveBytes;
        long heap = GC.GetTotalMemory(forceFullCollection: false);
        // Before the first trim, what the last collection kept stands for what is live.
        long live = Math.Max(_liveAfterTrim, GC.GetGCMemoryInfo().HeapSizeBytes);
        if (!quiet || (Volatile.Read(ref _evicted) < threshold && heap < (2 * live) + threshold))
        {
            return;
        }

        Interlocked.Exchange(ref _evicted, 0);
        long residentBefore = Environment.WorkingSet;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        _liveAfterTrim = GC.GetTotalMemory(forceFullCollection: false);
        _collections = GC.CollectionCount(0);
        runtime.Metrics.MemoryTrimmed();
        Log.MemoryTrimmed(logger, heap >> 20, _liveAfterTrim >> 20, residentBefore >> 20, Environment.WorkingSet >> 20);
    }
}
