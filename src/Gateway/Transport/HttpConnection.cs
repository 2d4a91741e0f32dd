using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.EngineIO;
using Gateway.Output;
using Gateway.Protocol.Buffers;
using Gateway.Time;
using Microsoft.AspNetCore.Connections;

namespace Gateway.Transport;

/// <summary>
/// One TCP connection speaking HTTP/1.1 (polling requests, or the handshake before a WebSocket upgrade). Responses
/// may be written by another thread (a session answering a parked poll), so every write holds this object's lock.
/// </summary>
/// <remarks>
/// Its deadlines are one entry in the timing wheel (no timer per connection): a complete request head within
/// <c>Gateway:Limits:RequestHeadTimeout</c> of the accept or of the previous response (slowloris, idle keep-alive),
/// and a body within <c>RequestBodyTimeout</c> at <c>MinRequestBodyDataRate</c>. A held poll has none (its session's
/// heartbeat ends it). The entry leaves the wheel at the first tick after an upgrade or the end.
/// </remarks>
internal sealed class HttpConnection : WheelEntry, IPollingRequest, IOutputOwner
{
    private readonly GatewayRuntime _runtime;

    // The wheel's clock (ms): when the wait for the next request head began (accept, the last head or response).
    private long _waitingSince;
    private bool _partialHead;
    // A body still arriving: since when (-1: none), bytes so far, and what it reserved of MaxPendingBodyBytes.
    private long _bodySince = -1;
    private long _bodyReceived;
    private long _bodyReserved;
    private bool _timedOut;
    private EngineSession? _parkedFor;
    private volatile bool _detached;

    public HttpConnection(ConnectionContext context, GatewayRuntime runtime)
    {
        Context = context;
        _runtime = runtime;
        Output = new ConnectionOutput(context.Transport.Output, this, runtime.Metrics.BytesSent);
        _waitingSince = runtime.Wheel.Now;
    }

    /// <summary>
    /// When the first bytes of the request being read arrived (<see cref="System.Diagnostics.Stopwatch"/> timestamp;
    /// 0 between requests): the handshake histogram measures from here.
    /// </summary>
    public long RequestStartedAt { get; set; }

    public ConnectionContext Context { get; }

    /// <summary>
    /// The client's address: the socket's peer, unless a PROXY protocol header named another (read before the first
    /// request, so admission's <c>MaxConnectionsPerIp</c> check sees the client, not the balancer).
    /// </summary>
    public IPAddress? ClientAddress => Context.ClientAddress;

    /// <summary>What admission counts for this connection (a field, so admission updates it in place).</summary>
    public ConnectionQuota Quota;

    /// <summary>Set once a complete request head arrived: from then on the connection is not evicted at the cap.</summary>
    public bool SentHead { get; set; }

    // The list of connections without a complete head yet (oldest first), for eviction at the cap.
    internal HttpConnection? FreshPrevious;
    internal HttpConnection? FreshNext;
    internal bool InFreshList;

    /// <summary>When it joined the fresh list (<see cref="Time.TimingWheel.Now"/>, ms).</summary>
    internal long FreshSince;

    /// <summary>The connection's output, passed on to the WebSocket probe and the session after an upgrade.</summary>
    public ConnectionOutput Output { get; }

    /// <summary>
    /// The session whose GET this connection holds, if any. Set and cleared under this connection's lock with the
    /// start of the wait for the next head, so that a deadline never sees a poll just answered as idle since its head.
    /// </summary>
    public EngineSession? ParkedFor
    {
        get => _parkedFor;
        set => SetWaitingFrom(ref _parkedFor, value);
    }

    private CancellationTokenSource? _answerPending;

    /// <summary>
    /// The request being answered later, if any — forwarded to the gateway of the region holding its session, or a
    /// handover waiting for the session's CONNECTs: cancelled when the connection ends first. Like a held poll, it
    /// has no deadline.
    /// </summary>
    public CancellationTokenSource? AnswerPending
    {
        get => _answerPending;
        set => SetWaitingFrom(ref _answerPending, value);
    }

    // A request held or answered later begins or ends: under the lock, with the start of the wait for the next head.
    private void SetWaitingFrom<T>(ref T field, T value)
    {
        lock (this)
        {
            field = value;
            _waitingSince = _runtime.Wheel.Now;
        }
    }

    /// <summary>The session whose POST this connection is receiving (head read, body not yet complete), if any.</summary>
    public EngineSession? DataFor { get; set; }

    /// <summary>Whether the request being answered keeps the connection.</summary>
    public bool KeepAlive { get; set; } = true;

    /// <summary>Access-Control-Allow-Origin value for the current request, or null (no CORS headers).</summary>
    public byte[]? AllowedOrigin { get; set; }

    public bool AllowCredentials { get; set; }

    /// <summary>Set once a response said "Connection: close": the read loop stops.</summary>
    public bool CloseAfterResponse { get; private set; }

    private static ReadOnlySpan<byte> StatusText(int status) => status switch
    {
        101 => "101 Switching Protocols"u8,
        200 => "200 OK"u8,
        204 => "204 No Content"u8,
        301 => "301 Moved Permanently"u8,
        400 => "400 Bad Request"u8,
        403 => "403 Forbidden"u8,
        404 => "404 Not Found"u8,
        405 => "405 Method Not Allowed"u8,
        413 => "413 Payload Too Large"u8,
        431 => "431 Request Header Fields Too Large"u8,
        500 => "500 Internal Server Error"u8,
        503 => "503 Service Unavailable"u8,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "no reason phrase for this status"),
    };

    /// <summary>Writes a complete response and flushes it.</summary>
    public void Respond(int status, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body, ReadOnlySpan<byte> extraHeaders = default) =>
        Respond(status, contentType, body, extraHeaders, headOnly: false);

    /// <summary>Writes a complete response and flushes it; <paramref name="headOnly"/>: the answer to a HEAD (no body).</summary>
    public void Respond(int status, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body, ReadOnlySpan<byte> extraHeaders, bool headOnly)
    {
        lock (this)
        {
            _waitingSince = _runtime.Wheel.Now; // the wait for the next head starts with this answer
            RequestStartedAt = 0;
            WriteHead(status, contentType, body.Length, extraHeaders);
            if (!body.IsEmpty && !headOnly)
            {
                Output.Writer.Write(body);
            }

            Output.Flush();
        }
    }

    private void WriteHead(int status, ReadOnlySpan<byte> contentType, int contentLength, ReadOnlySpan<byte> extraHeaders)
    {
        PipeWriter w = Output.Writer;
        w.WriteBytes("HTTP/1.1 "u8);
        w.WriteBytes(StatusText(status));
        w.WriteBytes("\r\n"u8);
        if (!contentType.IsEmpty)
        {
            w.WriteBytes("Content-Type: "u8);
            w.WriteBytes(contentType);
            w.WriteBytes("\r\n"u8);
        }

        w.WriteBytes("Content-Length: "u8);
        w.WriteInt64(contentLength);
        w.WriteBytes("\r\n"u8);
        if (AllowedOrigin is not null)
        {
            w.WriteBytes("Access-Control-Allow-Origin: "u8);
            w.WriteBytes(AllowedOrigin);
            w.WriteBytes("\r\nVary: Origin\r\n"u8);
            if (AllowCredentials)
            {
                w.WriteBytes("Access-Control-Allow-Credentials: true\r\n"u8);
            }
        }

        w.WriteBytes(extraHeaders);
        if (!KeepAlive || status >= 400)
        {
            // Errors end the connection: the rest of the request may not have been read.
            w.WriteBytes("Connection: close\r\n"u8);
            CloseAfterResponse = true;
        }
        else
        {
            w.WriteBytes("Connection: keep-alive\r\n"u8);
        }

        w.WriteBytes("\r\n"u8);
    }

    /// <summary>Ends the connection without an answer to the request in progress (its read loop stops).</summary>
    public void Abort() => Context.Transport.Input.CancelPendingRead();

    public bool IsOverCap(long maxBytes)
    {
        lock (this)
        {
            return Output.IsOverCap(maxBytes);
        }
    }

    /// <summary>
    /// Refuses the request (or the connection) with admission's response for <paramref name="reason"/> (503 +
    /// Retry-After, 403, 408) and ends the connection after it. Returns true (the read loop stops).
    /// </summary>
    public bool Refuse(RefusalReason reason)
    {
        Span<byte> response = stackalloc byte[Admission.MaxRefusalLength];
        int length = _runtime.Admission.WriteRefusal(reason, response);
        WriteRaw(response.Slice(0, length), close: true);
        return true;
    }

    // ---- Deadlines ------------------------------------------------------------------------------------------------

    /// <summary>Starts the connection's deadlines (once, when its read loop starts).</summary>
    public void StartDeadlines() => _runtime.Wheel.Schedule(this, _waitingSince + Math.Min(CheckPeriodMs, Limits.RequestHeadTimeout));

    // Unless held by a poll, a connection's deadlines are looked at this often: a body that starts meanwhile is
    // timed from its start, not from the next head deadline.
    private const int CheckPeriodMs = 1000;

    private GatewayOptions.LimitsOptions Limits => _runtime.Options.Limits;

    /// <summary>Part of a request head is in the buffer (a 408 rather than a silent close when it times out).</summary>
    public void OnPartialHead() => Volatile.Write(ref _partialHead, true);

    /// <summary>A complete request head arrived. False when the connection timed out meanwhile (stop reading).</summary>
    public bool OnHeadReceived()
    {
        lock (this)
        {
            if (_timedOut)
            {
                return false;
            }

            if (_bodySince < 0)
            {
                _waitingSince = _runtime.Wheel.Now;
                _partialHead = false;
            }

            return true;
        }
    }

    /// <summary>
    /// The request's body is still arriving (<paramref name="received"/> of <paramref name="length"/> bytes): from the
    /// first call it reserves <paramref name="length"/> of <c>MaxPendingBodyBytes</c> and runs the body deadline.
    /// False when the reservation does not fit (refuse it).
    /// </summary>
    public bool OnPartialBody(long length, long received)
    {
        lock (this)
        {
            if (_bodySince < 0)
            {
                if (!_runtime.Admission.TryReserveBody(length))
                {
                    return false;
                }

                _bodyReserved = length;
                _bodySince = _runtime.Wheel.Now;
            }

            _bodyReceived = received;
            return true;
        }
    }

    /// <summary>The request's body is complete (or the request ended): its reservation goes back.</summary>
    public void OnBodyDone()
    {
        lock (this)
        {
            EndBodyLocked();
        }
    }

    private void EndBodyLocked()
    {
        if (_bodySince < 0)
        {
            return;
        }

        _runtime.Admission.ReleaseBody(_bodyReserved);
        _bodyReserved = 0;
        _bodyReceived = 0;
        _bodySince = -1;
        _waitingSince = _runtime.Wheel.Now;
    }

    /// <summary>The connection upgraded or ended: no more deadlines (the wheel drops it at its next tick).</summary>
    public void Detach()
    {
        lock (this)
        {
            _detached = true;
            EndBodyLocked();
        }
    }

    protected internal override long OnTimer(long now)
    {
        if (_detached)
        {
            return -1;
        }

        GatewayOptions.LimitsOptions limits = Limits;
        lock (this)
        {
            if (_detached || _timedOut)
            {
                return -1;
            }

            if (ParkedFor is not null || _answerPending is not null)
            {
                // A held poll: its session's heartbeat ends it. Once answered, the idle deadline counts from the answer
                // (it may be seen up to one RequestHeadTimeout late).
                return now + limits.RequestHeadTimeout;
            }

            if (_bodySince >= 0)
            {
                long elapsed = now - _bodySince;
                bool tooSlow = limits.MinRequestBodyDataRate > 0 && elapsed >= limits.RequestBodyGracePeriod &&
                    _bodyReceived * 1000 < (long)limits.MinRequestBodyDataRate * elapsed;
                if (elapsed >= limits.RequestBodyTimeout || tooSlow)
                {
                    TimeOutLocked(RefusalReason.RequestBodyTimeout, answer: true);
                    return -1;
                }

                return Math.Min(_bodySince + limits.RequestBodyTimeout, now + CheckPeriodMs);
            }

            long deadline = _waitingSince + limits.RequestHeadTimeout;
            if (now < deadline)
            {
                return Math.Min(deadline, now + CheckPeriodMs);
            }

            // Idle since its accept or its last response: closed without a word (as Kestrel); a head begun gets 408.
            TimeOutLocked(RefusalReason.RequestHeadTimeout, answer: Volatile.Read(ref _partialHead));
            return -1;
        }
    }

    private void TimeOutLocked(RefusalReason reason, bool answer)
    {
        _timedOut = true;
        if (answer)
        {
            Refuse(reason); // re-enters this lock
        }
        else
        {
            _runtime.Metrics.Refusal(reason);
        }

        Abort();
    }

    /// <summary>Writes raw bytes (the 101 response, or an upgrade refusal) and flushes.</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes, bool close)
    {
        lock (this)
        {
            _waitingSince = _runtime.Wheel.Now;
            RequestStartedAt = 0;
            Output.Writer.Write(bytes);
            CloseAfterResponse |= close;
            Output.Flush();
        }
    }

    /// <summary>A response's flush completed: send what was written meanwhile (a peer gone is the read loop's to see).</summary>
    void IOutputOwner.OnOutputFlushed(ConnectionOutput output)
    {
        lock (this)
        {
            if (output.EndFlush() == OutputState.Done)
            {
                output.Flush();
            }
        }
    }
}
