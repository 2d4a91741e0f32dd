using Gateway.Connections;
using Gateway.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Gateway.Benchmarks.Broadcast;

/// <summary>A real <see cref="GatewayRuntime"/> for in-memory sessions.</summary>
internal static class BenchRuntime
{
    /// <summary>
    /// One fan-out worker (it stays idle: benchmark sessions are never <c>Start</c>ed, so the benchmark thread pumps
    /// them itself) and the smallest ring, which setup fills once so no slot grows during measurement.
    /// </summary>
    public static GatewayRuntime Create()
    {
        var options = new GatewayOptions { FanOutWorkers = 1, RingCapacity = 16 };
        options.Normalize();
        return new GatewayRuntime(Options.Create(options), NullLoggerFactory.Instance);
    }

    /// <summary>Publishes the packet into every slot twice over, so every slot's arrays have their final size.</summary>
    public static void WarmRing(GatewayRuntime runtime, ReadOnlySpan<byte> packet, string id)
    {
        for (int i = 0; i < runtime.Ring.Capacity * 2; i++)
        {
            runtime.Broadcaster.PublishPacket(0, -1, packet, id);
        }
    }
}
