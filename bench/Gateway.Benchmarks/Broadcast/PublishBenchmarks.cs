using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Gateway.EngineIO;

namespace Gateway.Benchmarks.Broadcast;

/// <summary>
/// Putting one 300-byte prompt into the broadcast ring: encoding it once as a WebSocket frame and a polling record.
/// The baseline publishes the already encoded packet (the path of a pre-encoded prompt); <see cref="Publish"/> is the
/// admin API path, which also encodes the event from a JsonElement and makes the message id.
/// </summary>
/// <remarks>
/// <see cref="Publish"/> makes its message id with <see cref="Guid.NewGuid"/>, a getrandom system call whose cost
/// follows the machine's load (its ratio moved by 30 % between two runs of the same code here), so the class's time
/// gets a 100 % tolerance. Its allocation (224 B: the id string and a Utf8JsonWriter) is gated exactly.
/// </remarks>
[MemoryDiagnoser]
[Check.GateTolerance(1.0)]
public class PublishBenchmarks
{
    private const string Id = "bench-prompt";
    private GatewayRuntime? _runtime;
    private JsonDocument? _arguments;

    [GlobalSetup]
    public void Setup()
    {
        _runtime = BenchRuntime.Create();
        byte[] array = [(byte)'[', .. Samples.PromptArguments, (byte)']'];
        _arguments = JsonDocument.Parse(array);
        BenchRuntime.WarmRing(_runtime, Samples.PromptEvent, Id);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _runtime?.Dispose();
        _arguments?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public long PublishPacket() => _runtime!.Broadcaster.PublishPacket(0, -1, Samples.PromptEvent, Id).Sequence;

    [Benchmark]
    public long Publish() => _runtime!.Broadcaster.Publish(0, null, "prompt", _arguments!.RootElement).Sequence;
}
