using BenchmarkDotNet.Attributes;
using Gateway.Benchmarks.Fakes;
using Gateway.EngineIO;
using Gateway.Protocol.WebSockets;

namespace Gateway.Benchmarks.Broadcast;

/// <summary>
/// What prompt lifecycle tracking and its metrics cost a broadcast: one prompt to 10,000 WebSocket sessions
/// (<see cref="NullPipeWriter"/> outputs, joined to "/" by their own CONNECT) through the fan-out's real pass — the
/// partition's tally, the fold into the prompt's record, its completion, the fan-out histogram — against the same
/// broadcast with <c>Gateway:Diagnostics:PromptLifecycle=false</c> (the baseline). Tracked allocates one small record
/// per prompt, nothing per recipient.
/// </summary>
[MemoryDiagnoser]
public class PromptLifecycleBenchmarks
{
    public const int Connections = 10_000;
    private const string Id = "bench-prompt";
    private GatewayRuntime? _untracked;
    private GatewayRuntime? _tracked;

    [GlobalSetup]
    public void Setup()
    {
        _untracked = Create(promptLifecycle: false);
        _tracked = Create(promptLifecycle: true);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _untracked?.Dispose();
        _tracked?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public long Untracked() => Broadcast(_untracked!);

    [Benchmark]
    public long Tracked() => Broadcast(_tracked!);

    private static long Broadcast(GatewayRuntime runtime)
    {
        long sequence = runtime.Broadcaster.PublishPacket(0, -1, Samples.PromptEvent, Id, "prompt").Sequence;
        runtime.FanOut.PassAll();
        return sequence;
    }

    private static GatewayRuntime Create(bool promptLifecycle)
    {
        GatewayRuntime runtime = BenchRuntime.Create(promptLifecycle);
        BenchRuntime.WarmRing(runtime, Samples.PromptEvent, Id);
        for (int i = 0; i < Connections; i++)
        {
            var session = new EngineSession(runtime, webSocket: true, new NullPipeWriter(), input: null);
            session.OnWebSocketMessage(WebSocketOpcode.Text, "40"u8);
            // In the fan-out's partitions (what Start does, without the heartbeat: the wheel is not running).
            runtime.FanOut.Add(session);
        }

        // Proof that every session receives: one prompt through the pass, then each session is up to date and open.
        Broadcast(runtime);
        long head = runtime.Ring.Head;
        int behind = 0;
        runtime.FanOut.ForEach(member => behind += member.IsClosed || ((EngineSession)member).Cursor != head ? 1 : 0);
        if (behind != 0)
        {
            throw new InvalidOperationException($"{behind} of {Connections} sessions did not receive the prompt");
        }

        return runtime;
    }
}
