using System.IO.Pipelines;

namespace Gateway.Benchmarks.Fakes;

/// <summary>
/// A real <see cref="Pipe"/> (what Kestrel hands a connection) whose reader is drained synchronously by the benchmark
/// after each operation, so flushes always complete in place and buffers go back to the pool.
/// </summary>
public sealed class DrainedPipe
{
    private static readonly PipeOptions s_options = new(
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 0,
        useSynchronizationContext: false);

    private readonly Pipe _pipe = new(s_options);

    public PipeWriter Writer => _pipe.Writer;

    /// <summary>Consumes everything flushed so far; returns the byte count.</summary>
    public long Drain()
    {
        if (!_pipe.Reader.TryRead(out ReadResult result))
        {
            return 0;
        }

        long length = result.Buffer.Length;
        _pipe.Reader.AdvanceTo(result.Buffer.End);
        return length;
    }
}
