// Flush ValueTasks are observed exactly once: in place when already complete, else in the completion callback.
#pragma warning disable CA2012
using System.IO.Pipelines;
using Gateway.Diagnostics;

namespace Gateway.Output;

/// <summary>
/// The only owner of one TCP connection's <see cref="PipeWriter"/>: what is written to it, its one pending flush, and
/// its byte cap. Over a connection's life it serves an HTTP request, then maybe a WebSocket probe, then an Engine.IO
/// session; each of them writes through this object, so there is never a second flush while one is pending.
/// </summary>
/// <remarks>
/// Not locked itself: every call is made under the lock of the current owner (<see cref="IOutputOwner"/>), and
/// <see cref="TransferTo"/> hands the object on at a point where the previous owner writes no more. A flush that does
/// not complete at once completes on a socket thread, which tells whoever owns the output then.
/// </remarks>
internal sealed class ConnectionOutput
{
    private readonly PipeWriter _writer;
    private readonly StripedCounter? _sent;
    private volatile IOutputOwner? _owner;
    private bool _flushPending;
    private volatile bool _awaitingSocket;
    private ValueTask<FlushResult> _pendingFlush;
    private Action? _onFlushCompleted;

    /// <param name="writer">The connection's transport output.</param>
    /// <param name="owner">Its first owner (or null until <see cref="TransferTo"/>).</param>
    /// <param name="sent">Counts the bytes each flush hands to the socket (the bytes-sent metric), when given.</param>
    public ConnectionOutput(PipeWriter writer, IOutputOwner? owner, StripedCounter? sent = null)
    {
        _writer = writer;
        _owner = owner;
        _sent = sent;
    }

    /// <summary>Where packets are written (under the owner's lock); <see cref="Flush"/> sends them.</summary>
    public PipeWriter Writer => _writer;

    /// <summary>A flush has not completed yet: the socket has more than the transport's buffer unsent.</summary>
    public bool FlushPending => _flushPending;

    /// <summary>Bytes written and not yet handed to the transport's pipe.</summary>
    public long UnflushedBytes => _writer.UnflushedBytes;

    /// <summary>
    /// Whether the output is over <paramref name="maxBytes"/> while the socket is not taking bytes: more than that is
    /// queued beyond the transport's buffer (which is full: the flush is pending). The owner's slow-consumer policy
    /// decides what to do.
    /// </summary>
    public bool IsOverCap(long maxBytes) => _flushPending && _writer.UnflushedBytes > maxBytes;

    /// <summary>
    /// The last flush has not completed: the peer is not taking bytes. Read without the owner's lock (by the read loop
    /// once the connection ends: such a connection is aborted, since neither a close frame nor the rest of its queue
    /// would reach the peer, and a graceful close would wait for it forever).
    /// </summary>
    public bool IsBackedUp => _awaitingSocket;

    /// <summary>Makes <paramref name="owner"/> the one that writes and is told of flush completions from now on.</summary>
    public void TransferTo(IOutputOwner owner) => _owner = owner;

    /// <summary>
    /// Sends what was written, unless a flush is pending (its completion tells the owner, which flushes again).
    /// <see cref="OutputState.Closed"/> when the peer is gone.
    /// </summary>
    public OutputState Flush()
    {
        if (_flushPending)
        {
            return OutputState.Pending;
        }

        long bytes = _writer.UnflushedBytes;
        if (bytes == 0)
        {
            return OutputState.Done;
        }

        _sent?.Add(bytes);

        ValueTask<FlushResult> flush = _writer.FlushAsync();
        if (flush.IsCompleted)
        {
            return Observe(flush);
        }

        _flushPending = true;
        _awaitingSocket = true;
        _pendingFlush = flush;
        flush.GetAwaiter().UnsafeOnCompleted(_onFlushCompleted ??= OnFlushCompleted);
        return OutputState.Pending;
    }

    /// <summary>
    /// The owner, told that the pending flush completed, takes its result (under its lock). Then it may write and
    /// <see cref="Flush"/> again.
    /// </summary>
    public OutputState EndFlush()
    {
        if (!_flushPending)
        {
            return OutputState.Done;
        }

        _flushPending = false;
        ValueTask<FlushResult> flush = _pendingFlush;
        _pendingFlush = default;
        return Observe(flush);
    }

    /// <summary>Drops the completion callback (and what it keeps alive) once the connection is done.</summary>
    public void Release() => _onFlushCompleted = null;

    private static OutputState Observe(ValueTask<FlushResult> flush)
    {
        try
        {
            // Only called once the flush has completed.
            return flush.GetAwaiter().GetResult().IsCompleted ? OutputState.Closed : OutputState.Done;
        }
        catch (Exception)
        {
            return OutputState.Faulted; // the peer went away under a send; the read loop sees it too
        }
    }

    private void OnFlushCompleted()
    {
        _awaitingSocket = false;
        _owner?.OnOutputFlushed(this);
    }
}

/// <summary>The state of a <see cref="ConnectionOutput"/> after a flush.</summary>
internal enum OutputState
{
    /// <summary>Everything written was handed to the socket.</summary>
    Done,

    /// <summary>The socket is backed up; the owner is told when the flush completes.</summary>
    Pending,

    /// <summary>The transport completed: the peer is gone.</summary>
    Closed,

    /// <summary>A send failed (a reset).</summary>
    Faulted,
}

/// <summary>Whoever writes a <see cref="ConnectionOutput"/> now: an HTTP request, a WebSocket probe, a session.</summary>
internal interface IOutputOwner
{
    /// <summary>
    /// The pending flush completed (on a socket thread). The owner takes its lock, calls
    /// <see cref="ConnectionOutput.EndFlush"/>, and goes on writing.
    /// </summary>
    void OnOutputFlushed(ConnectionOutput output);
}
