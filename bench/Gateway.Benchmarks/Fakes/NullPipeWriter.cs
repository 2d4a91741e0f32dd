using System.IO.Pipelines;

namespace Gateway.Benchmarks.Fakes;

/// <summary>
/// A <see cref="PipeWriter"/> that discards what is flushed and never applies backpressure: the fan-out benchmarks
/// measure the gateway's own work, not a socket's. Every instance writes into one shared scratch array (the
/// benchmarks are single-threaded and the bytes are thrown away), so 10,000 of them cost no memory per writer.
/// </summary>
public sealed class NullPipeWriter : PipeWriter
{
    private static byte[] s_scratch = new byte[16 * 1024];

    private long _unflushed;

    /// <summary>Bytes flushed since construction: lets setup prove that a session really delivered.</summary>
    public long FlushedBytes { get; private set; }

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _unflushed;

    public override void Advance(int bytes) => _unflushed += bytes;

    public override Memory<byte> GetMemory(int sizeHint = 0) => Scratch(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => Scratch(sizeHint);

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        FlushedBytes += _unflushed;
        _unflushed = 0;
        return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false));
    }

    public override void CancelPendingFlush()
    {
    }

    public override void Complete(Exception? exception = null)
    {
    }

    private static byte[] Scratch(int sizeHint)
    {
        // Grows only for a message larger than any before (setup), never in steady state.
        if (sizeHint > s_scratch.Length)
        {
            s_scratch = new byte[Math.Max(sizeHint, s_scratch.Length * 2)];
        }

        return s_scratch;
    }
}
