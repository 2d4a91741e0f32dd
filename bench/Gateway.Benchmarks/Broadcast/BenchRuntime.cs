using Gateway.Configuration;
using Gateway.EngineIO;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Gateway.Benchmarks.Broadcast;

/// <summary>A real <see cref="GatewayRuntime"/> for in-memory sessions.</summary>
internal static class BenchRuntime
{
    /// <summary>
    /// The smallest ring, which setup fills once so no slot grows during measurement, and the runtime's threads never
    /// started: benchmark sessions are never <c>Start</c>ed, the benchmark thread pumps them itself. A live worker
    /// would be woken by every publish, and whether it was asleep (a futex wake) or not made the publish cost swing
    /// between about 70 and 500 ns from run to run on this machine: scheduler noise, not gateway code. Prompt lifecycle
    /// tracking is off unless asked for (it allocates a small record per prompt; <c>PromptLifecycleBenchmarks</c>
    /// measures it).
    /// </summary>
    public static GatewayRuntime Create(bool promptLifecycle = false)
    {
        var options = new GatewayOptions { FanOutWorkers = 1, RingCapacity = 16 };
        options.Diagnostics.PromptLifecycle = promptLifecycle;
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
