using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Gateway.Benchmarks.Fakes;
using Gateway.EngineIO;
using Gateway.Protocol.WebSockets;

namespace Gateway.Benchmarks.Broadcast;

/// <summary>How each session's output is backed.</summary>
public enum Output
{
    /// <summary><see cref="NullPipeWriter"/>: only the gateway's work is measured.</summary>
    Null,

    /// <summary>A real <see cref="Pipe"/> drained after every operation, as Kestrel's transport pipe.</summary>
    Pipe,
}

/// <summary>
/// One prompt to every connection: publish into the ring, then every WebSocket session copies the pre-encoded frame
/// into its output and flushes (what a fan-out worker does per session). The baseline writes the same frame into
/// the same outputs directly: the floor of any fan-out. Sessions are real <see cref="EngineSession"/>s joined to
/// namespace "/" by the client's own CONNECT packet. Allocation per operation must be 0 B: per recipient and for
/// the publish of a pre-encoded packet.
/// </summary>
[MemoryDiagnoser]
public class FanOutBenchmarks
{
    private const string Id = "bench-prompt";
    private GatewayRuntime? _runtime;
    private EngineSession[] _sessions = [];
    private PipeWriter[] _writers = [];
    private DrainedPipe[] _pipes = [];
    private byte[] _frame = [];

    [Params(1, 100, 10_000)]
    public int Connections { get; set; }

    [Params(Output.Null, Output.Pipe)]
    public Output Output { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _runtime = BenchRuntime.Create();
        // Before any session exists: sessions that fell a whole ring behind would be closed as slow consumers.
        BenchRuntime.WarmRing(_runtime, Samples.PromptEvent, Id);
        _sessions = new EngineSession[Connections];
        _writers = new PipeWriter[Connections];
        _pipes = Output == Output.Pipe ? new DrainedPipe[Connections] : [];
        for (int i = 0; i < Connections; i++)
        {
            if (Output == Output.Pipe)
            {
                _pipes[i] = new DrainedPipe();
                _writers[i] = _pipes[i].Writer;
            }
            else
            {
                _writers[i] = new NullPipeWriter();
            }

            var session = new EngineSession(_runtime, webSocket: true, _writers[i], input: null);
            // Socket.IO CONNECT to "/": the session answers with its CONNECT reply and is a member from now on.
            session.OnWebSocketMessage(WebSocketOpcode.Text, "40"u8);
            _sessions[i] = session;
        }

        PublishAndPump();
        PublishAndPump();

        // The frame the ring holds for this prompt, byte for byte: the baseline writes exactly what sessions write.
        var frame = new ArrayBufferWriter<byte>();
        _runtime.Ring.TryCopyTo(_runtime.Ring.Head - 1, Gateway.Broadcast.RingForm.WebSocket, frame);
        _frame = frame.WrittenSpan.ToArray();

        // Proof that every session is joined and delivering: one more prompt must reach every output in full.
        long before = DeliveredBytes();
        long drained = PublishAndPump();
        long delivered = Output == Output.Pipe ? drained : DeliveredBytes() - before;
        long expected = (long)Connections * _frame.Length;
        if (delivered != expected || OpenSessions != Connections)
        {
            throw new InvalidOperationException($"one prompt delivered {delivered} bytes, expected {expected}; {OpenSessions} of {Connections} sessions open");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (EngineSession session in _sessions)
        {
            session.OnTransportClosed(CloseReason.TransportClosed);
        }

        _runtime?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public long BarePipeWrite()
    {
        ReadOnlySpan<byte> frame = _frame;
        PipeWriter[] writers = _writers;
        DrainedPipe[] pipes = _pipes;
        long drained = 0;
        for (int i = 0; i < writers.Length; i++)
        {
            writers[i].Write(frame);
            ValueTask<FlushResult> flush = writers[i].FlushAsync();
            if (!flush.IsCompleted)
            {
                throw new InvalidOperationException("a drained pipe applied backpressure");
            }

            flush.GetAwaiter().GetResult();
            if (pipes.Length != 0)
            {
                drained += pipes[i].Drain();
            }
        }

        return drained;
    }

    [Benchmark]
    public long PublishAndPump()
    {
        _runtime!.Broadcaster.PublishPacket(0, -1, Samples.PromptEvent, Id);
        EngineSession[] sessions = _sessions;
        DrainedPipe[] pipes = _pipes;
        long drained = 0;
        for (int i = 0; i < sessions.Length; i++)
        {
            sessions[i].PumpBroadcasts(null);
            // The socket drains each pipe soon after its flush (as Kestrel's sender does), so one pooled block is
            // in flight at a time; draining all 10,000 at the end would outgrow ArrayPool and measure the pool.
            if (pipes.Length != 0)
            {
                drained += pipes[i].Drain();
            }
        }

        return drained;
    }

    /// <summary>What the sessions have flushed so far (setup's proof that they are joined and delivering).</summary>
    internal long DeliveredBytes()
    {
        long sum = 0;
        foreach (PipeWriter writer in _writers)
        {
            sum += writer is NullPipeWriter nullWriter ? nullWriter.FlushedBytes : 0;
        }

        return sum;
    }

    /// <summary>Sessions still open (a slow-consumer close would make the benchmark measure nothing).</summary>
    internal int OpenSessions => _sessions.Count(s => !s.IsClosed);
}
