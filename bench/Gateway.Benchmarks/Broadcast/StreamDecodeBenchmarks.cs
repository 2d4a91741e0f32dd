using BenchmarkDotNet.Attributes;
using Gateway.EngineIO;
using Gateway.Redis;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Gateway.Benchmarks.Broadcast;

/// <summary>
/// Redis mode's prompt path: one entry of the region's prompt stream (a 300-byte prompt, as StackExchange.Redis
/// hands it over) decoded per the wire contract and put into the ring with its stream id as the recovery offset.
/// The baseline publishes the same prompt already encoded. Per prompt, not per recipient: it allocates (the entry's
/// strings, one JsonDocument), and the gate holds that figure exactly.
/// </summary>
[MemoryDiagnoser]
[Check.GateTolerance(1.0)]
public class StreamDecodeBenchmarks
{
    private GatewayRuntime? _runtime;
    private StreamEntry _entry;

    [GlobalSetup]
    public void Setup()
    {
        _runtime = BenchRuntime.Create();
        string data = "[" + System.Text.Encoding.UTF8.GetString(Samples.PromptArguments) + "]";
        _entry = new StreamEntry("1764700000000-0",
        [
            new NameValueEntry("id", "prompt-42"), new NameValueEntry("ns", "/"), new NameValueEntry("ch", ""),
            new NameValueEntry("ev", "prompt"), new NameValueEntry("data", data),
        ]);
        BenchRuntime.WarmRing(_runtime, Samples.PromptEvent, "prompt-42");
        for (int i = 0; i < _runtime.Ring.Capacity * 2; i++)
        {
            DecodeAndDeliver();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _runtime?.Dispose();

    [Benchmark(Baseline = true)]
    public long PublishPacket() => _runtime!.Broadcaster.PublishPacket(0, -1, Samples.PromptEvent, "prompt-42").Sequence;

    [Benchmark]
    public long DecodeAndDeliver()
    {
        StreamPrompt prompt = StreamPrompt.Decode(_runtime!.Context, _runtime.Options.Redis.MaxRevealAhead, _entry, NullLogger.Instance)!;
        prompt.Deliver(_runtime!.Broadcaster, withOffset: true, now: 1764700000000);
        return _runtime.Ring.Head;
    }
}
