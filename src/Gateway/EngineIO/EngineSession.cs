using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.Output;
using Gateway.Protocol.Buffers;
using Gateway.Protocol.EngineIO;
using Gateway.Protocol.WebSockets;
using Gateway.SocketIO;
using Gateway.Time;

namespace Gateway.EngineIO;

/// <summary>
/// One Engine.IO session: its transport (polling or WebSocket), heartbeat, broadcast cursor and Socket.IO sockets.
/// </summary>
/// <remarks>
/// Every mutation and every write to the transport happens under <c>lock (this)</c> (the type is internal and
/// sealed; locking the object itself saves a lock object per socket). Writers: the connection's read loop, the
/// fan-out worker, the timing wheel and flush completions — never two at once.
/// </remarks>
internal sealed partial class EngineSession : WheelEntry, IFanOutMember, IOutputOwner
{
    private readonly GatewayRuntime _runtime;
    private bool _isWebSocket;
    private volatile bool _closed;

    // WebSocket transport.
    private ConnectionOutput? _ws;
    private PipeReader? _wsInput;

    // Polling transport: records waiting for a GET, and the GET waiting for records.
    private PooledBufferWriter? _pollQueue;
    private IPollingRequest? _parkedPoll;

    // The connection whose POST body is still arriving (engine.io's dataReq): a second POST meanwhile is an overlap.
    private IPollingRequest? _dataRequest;

    // The connection probing an upgrade (between "2probe" and "5").
    private IUpgradeProbe? _probing;
    private long _probeAt;

    private long _cursor;

    // A polling session's count of its client address (Gateway:Limits:MaxConnectionsPerIp), until it upgrades or closes.
    private ClientAddress? _address;

    // Heartbeat (the wheel's clock: TimingWheel.Now).
    private readonly long _openedAt;
    private long _nextPingAt;
    private long _pingSentAt;
    private long _lastPongAt;
    private bool _awaitingPong;

    /// <summary>A session on a connection's output (a direct WebSocket: it owns the output from now on), or none (polling).</summary>
    public EngineSession(GatewayRuntime runtime, bool webSocket, ConnectionOutput? output, PipeReader? input)
        : this(runtime, SessionIds.New(runtime.Peers.LocalInstance), webSocket, output, input)
    {
    }

    private EngineSession(GatewayRuntime runtime, string sid, bool webSocket, ConnectionOutput? output, PipeReader? input)
    {
        _runtime = runtime;
        Sid = sid;
        _isWebSocket = webSocket;
        _ws = output;
        output?.TransferTo(this);
        _wsInput = input;
        if (!webSocket)
        {
            _pollQueue = new PooledBufferWriter(0);
        }

        _openedAt = runtime.Wheel.Now;
        _nextPingAt = _openedAt + runtime.Options.PingInterval;
        _cursor = runtime.Ring.Head;
    }

    /// <summary>A polling session: its packets wait for GETs; an upgrade gives it a connection's output later.</summary>
    public static EngineSession ForPolling(GatewayRuntime runtime) => new(runtime, webSocket: false, (ConnectionOutput?)null, input: null);

    /// <summary>A WebSocket session straight on a writer (benchmarks and in-process tests).</summary>
    public EngineSession(GatewayRuntime runtime, bool webSocket, PipeWriter output, PipeReader? input)
        : this(runtime, webSocket, new ConnectionOutput(output, owner: null, runtime.Metrics.BytesSent), input)
    {
    }

    public string Sid { get; }

    /// <summary>A GET of this session is held, waiting for packets (read under the session's lock).</summary>
    internal bool HasParkedPoll => _parkedPoll is not null;

    public bool IsClosed => _closed;

    public long Cursor => Volatile.Read(ref _cursor);

    /// <summary>Whether the session is on WebSocket now (read without the lock: a request's routing hint).</summary>
    public bool IsWebSocket => Volatile.Read(ref _isWebSocket);

    private GatewayOptions Options => _runtime.Options;

    /// <summary>A new Engine.IO / Socket.IO id (<see cref="SessionIds.New()"/>).</summary>
    public static string NewId() => SessionIds.New();

    /// <summary>Gives the session its count of its client address (from <see cref="Admission.AdmitSession"/>), before <see cref="Start"/>.</summary>
    public void HoldAddress(ClientAddress? address) => _address = address;

    /// <summary>Gives back the session's count of its client address: it upgraded (its connection counts) or closed.</summary>
    private void ReleaseAddressLocked()
    {
        _runtime.Admission.Release(_address);
        _address = null;
    }

    /// <summary>Starts heartbeats and broadcasts. Call once, after the open packet is on its way.</summary>
    public void Start()
    {
        _runtime.Metrics.SessionOpened(_isWebSocket);
        Log.SessionOpened(_runtime.Logger, Sid, _isWebSocket ? "websocket" : "polling");
        if (!_isWebSocket)
        {
            _runtime.Register(this);
        }

        _runtime.FanOut.Add(this);
        _runtime.Wheel.Schedule(this, Math.Min(_nextPingAt, _openedAt + Options.ConnectTimeout));
    }

    /// <summary>Writes the open packet as the first WebSocket message (direct WebSocket sessions).</summary>
    public void SendOpenPacket()
    {
        lock (this)
        {
            PooledBufferWriter scratch = PacketScratch.Get();
            EngineIOHandshake.WriteOpenPacket(scratch, Sid, offerWebSocketUpgrade: !_isWebSocket, Options.PingInterval, Options.PingTimeout, Options.MaxPayload);
            WriteWebSocketMessageLocked(WebSocketOpcode.Text, scratch.WrittenSpan);
            FlushLocked();
        }
    }

    /// <summary>The open packet for a polling handshake response body.</summary>
    public void WriteOpenPacket(IBufferWriter<byte> writer) =>
        EngineIOHandshake.WriteOpenPacket(writer, Sid, offerWebSocketUpgrade: true, Options.PingInterval, Options.PingTimeout, Options.MaxPayload);

    // ---- Outbound primitives (hold the lock) -------------------------------------------------------------------

    /// <summary>Queues an Engine.IO text packet on the current transport.</summary>
    private void WriteTextPacketLocked(EngineIOPacketType type, ReadOnlySpan<byte> data)
    {
        if (_closed)
        {
            return;
        }

        if (_isWebSocket)
        {
            int length = 1 + data.Length;
            int header = WebSocketFrameHeader.GetHeaderLength(length, masked: false);
            PipeWriter ws = _ws!.Writer;
            Span<byte> span = ws.GetSpan(header + length);
            WebSocketFrameHeader.Write(span, WebSocketOpcode.Text, fin: true, length);
            span[header] = (byte)('0' + (byte)type);
            if (header + length <= span.Length)
            {
                data.CopyTo(span.Slice(header + 1));
                ws.Advance(header + length);
            }
            else
            {
                ws.Advance(header + 1);
                ws.Write(data);
            }
        }
        else
        {
            PooledBufferWriter queue = _pollQueue!;
            if (queue.WrittenCount > 0)
            {
                queue.Write(EngineIOPollingPayload.RecordSeparator);
            }

            queue.Write((byte)('0' + (byte)type));
            queue.Write(data);
        }
    }

    /// <summary>Queues a binary Engine.IO message (a Socket.IO attachment).</summary>
    private void WriteBinaryLocked(ReadOnlySpan<byte> data)
    {
        if (_closed)
        {
            return;
        }

        if (_isWebSocket)
        {
            WriteWebSocketMessageLocked(WebSocketOpcode.Binary, data);
        }
        else
        {
            PooledBufferWriter queue = _pollQueue!;
            if (queue.WrittenCount > 0)
            {
                queue.Write(EngineIOPollingPayload.RecordSeparator);
            }

            EngineIOPacket.WriteBase64Record(queue, data);
        }
    }

    private void WriteWebSocketMessageLocked(WebSocketOpcode opcode, ReadOnlySpan<byte> payload)
    {
        PipeWriter ws = _ws!.Writer;
        WebSocketFrameHeader.Write(ws, opcode, fin: true, payload.Length);
        ws.Write(payload);
    }

    /// <summary>
    /// Sends what was queued: flush the pipe, or answer the parked poll. A session with more than
    /// <c>MaxOutboundBytes</c> queued that its peer is not taking is a slow consumer, closed at once.
    /// </summary>
    private void CommitLocked()
    {
        if (_closed)
        {
            return;
        }

        if (_isWebSocket)
        {
            if (_ws!.IsOverCap(Options.MaxOutboundBytes))
            {
                SlowConsumerLocked(OverCap);
                return;
            }

            FlushLocked();
        }
        else if (_parkedPoll is not null && _pollQueue!.WrittenCount > 0)
        {
            AnswerPollLocked(_parkedPoll);
        }
        else if (_pollQueue!.WrittenCount > Options.MaxOutboundBytes)
        {
            SlowConsumerLocked(OverCap);
        }
    }

    private void FlushLocked()
    {
        if (_ws is null)
        {
            return;
        }

        // Pending: the socket has the transport's buffer full. What is written meanwhile waits in the pipe
        // (UnflushedBytes, capped by MaxOutboundBytes) and goes out when the flush completes (OnOutputFlushed).
        ObserveLocked(_ws.Flush());
    }

    private void ObserveLocked(OutputState state)
    {
        if (state == OutputState.Closed)
        {
            CloseLocked(CloseReason.TransportClosed, clientInitiated: true, WebSocketCloseCode.NormalClosure, sendClose: false);
        }
        else if (state == OutputState.Faulted)
        {
            CloseLocked(CloseReason.TransportError, clientInitiated: true, WebSocketCloseCode.NormalClosure, sendClose: false);
        }
    }

    /// <summary>The pending flush completed: catch up with the ring and send.</summary>
    void IOutputOwner.OnOutputFlushed(ConnectionOutput output)
    {
        lock (this)
        {
            if (_ws != output)
            {
                return; // closed meanwhile
            }

            ObserveLocked(output.EndFlush());
            if (_closed)
            {
                return;
            }

            PumpLocked(_runtime.SharedTally);
            FlushLocked();
        }
    }

    // ---- Broadcast ----------------------------------------------------------------------------------------------

    /// <summary>Fan-out worker: copy what the ring holds for this session and send it (also while a flush is pending).</summary>
    public void PumpBroadcasts(DeliveryTally? tally)
    {
        // Unlocked peek: most passes find most sessions already up to date only when they are not targeted.
        if (_closed || Volatile.Read(ref _cursor) == _runtime.Ring.Head)
        {
            return;
        }

        lock (this)
        {
            if (_closed)
            {
                return;
            }

            PumpLocked(tally);
            CommitLocked();
        }
    }

    void IFanOutMember.OnPumpFailed(Exception exception) => Close(CloseReason.ServerError, clientInitiated: false, WebSocketCloseCode.InternalError);

    bool IFanOutMember.CloseForResync() => Close(CloseReason.StreamGap, clientInitiated: false);

    private const string Lapped = "lapped by the broadcast ring";
    private const string OverCap = "queued bytes over Gateway:MaxOutboundBytes";

    /// <summary>
    /// Copies what the ring holds beyond the cursor for this session's sockets into its transport: the pipe (handed
    /// on in chunks of MaxOutboundBytes while the socket takes bytes), or the polling queue. Whatever the ring's
    /// capacity, a session never holds more than MaxOutboundBytes its peer is not taking: beyond that it is closed as
    /// a slow consumer (a length comparison per copied message; nothing is allocated).
    /// </summary>
    private void PumpLocked(DeliveryTally? tally)
    {
        BroadcastRing ring = _runtime.Ring;
        long head = ring.Head;
        long cursor = _cursor;
        if (cursor == head)
        {
            return;
        }

        if (head - cursor > ring.Capacity)
        {
            SlowConsumerLocked(Lapped);
            return;
        }

        long maxQueued = Options.MaxOutboundBytes;
        // One clock read per pump: the frames of one pump reach the socket together.
        long writtenAt = tally is null ? 0 : Stopwatch.GetTimestamp();
        for (long sequence = cursor; sequence < head; sequence++)
        {
            if (ring.TryReadTarget(sequence, out int namespaceIndex, out long channelId) == RingRead.Lapped)
            {
                SlowConsumerLocked(Lapped);
                return;
            }

            NamespaceSocket? socket = FindSocket(namespaceIndex);
            if (socket is null || sequence < socket.JoinedAt || (channelId != ChannelRegistry.WholeNamespace && !socket.HasChannel(channelId)))
            {
                continue;
            }

            RingRead copied;
            if (_isWebSocket)
            {
                ConnectionOutput ws = _ws!;
                copied = ring.TryCopyTo(sequence, RingForm.WebSocket, ws.Writer);
                if (copied == RingRead.Done && ws.UnflushedBytes > maxQueued)
                {
                    if (ws.FlushPending)
                    {
                        SlowConsumerLocked(OverCap);
                        return;
                    }

                    // A long backlog (a burst between two passes) goes to the socket in chunks, so the pipe never
                    // holds more than the cap beyond its buffer either.
                    FlushLocked();
                    if (_closed)
                    {
                        return;
                    }
                }
            }
            else
            {
                PooledBufferWriter queue = _pollQueue!;
                if (queue.WrittenCount > 0)
                {
                    queue.Write(EngineIOPollingPayload.RecordSeparator);
                }

                copied = ring.TryCopyTo(sequence, RingForm.Polling, queue);
                if (copied == RingRead.Done && queue.WrittenCount > maxQueued)
                {
                    SlowConsumerLocked(OverCap);
                    return;
                }
            }

            if (copied == RingRead.Lapped)
            {
                // What was appended may be torn: the session closes without sending it.
                SlowConsumerLocked(Lapped);
                return;
            }

            tally?.Delivered(sequence, writtenAt);
        }

        Volatile.Write(ref _cursor, head);
    }

    private void SlowConsumerLocked(string reason)
    {
        _runtime.Metrics.SlowConsumer();
        Log.SlowConsumer(_runtime.Logger, Sid, reason);
        // Over the cap the flush is pending, so no close frame can go out: the read loop aborts the connection
        // (ConnectionOutput.IsBackedUp) instead of waiting for a peer that reads nothing.
        CloseLocked(CloseReason.SlowConsumer, clientInitiated: false, WebSocketCloseCode.PolicyViolation, sendClose: true);
    }

    // ---- Heartbeat ----------------------------------------------------------------------------------------------

    /// <summary>A pong arrived: only a timestamp; the wheel does the rest.</summary>
    private void OnPong() => Volatile.Write(ref _lastPongAt, _runtime.Wheel.Now);

    protected internal override long OnTimer(long now)
    {
        lock (this)
        {
            if (_closed)
            {
                return -1;
            }

            long connectDeadline = _socket0 is null && _moreCount == 0 && !_joinedAny ? _openedAt + Options.ConnectTimeout : long.MaxValue;
            if (now >= connectDeadline)
            {
                CloseLocked(CloseReason.ConnectTimeout, clientInitiated: false, WebSocketCloseCode.NormalClosure, sendClose: true);
                return -1;
            }

            long upgradeDeadline = long.MaxValue;
            if (_probing is not null)
            {
                upgradeDeadline = _probeAt + Options.UpgradeTimeout;
                if (now >= upgradeDeadline)
                {
                    AbortUpgradeLocked();
                    upgradeDeadline = long.MaxValue;
                }
            }

            long next;
            if (_awaitingPong)
            {
                if (Volatile.Read(ref _lastPongAt) >= _pingSentAt)
                {
                    _awaitingPong = false;
                    _nextPingAt = Volatile.Read(ref _lastPongAt) + Options.PingInterval;
                }
                else if (now - _pingSentAt >= Options.PingTimeout)
                {
                    _runtime.Metrics.HeartbeatTimeout();
                    CloseLocked(CloseReason.PingTimeout, clientInitiated: false, WebSocketCloseCode.NormalClosure, sendClose: true);
                    return -1;
                }
            }

            if (!_awaitingPong && now >= _nextPingAt)
            {
                WriteTextPacketLocked(EngineIOPacketType.Ping, default);
                CommitLocked();
                // Timed from when the ping is actually sent (socket.io's timer starts there too): after a late tick,
                // timing it from when it was due would leave the client less than PingTimeout — none at all when the
                // tick is PingTimeout late — and close a healthy session right behind its ping.
                _pingSentAt = now;
                _awaitingPong = true;
            }

            next = _awaitingPong ? _pingSentAt + Options.PingTimeout : _nextPingAt;
            return Math.Min(next, Math.Min(connectDeadline, upgradeDeadline));
        }
    }

    /// <summary>
    /// Expires the session now if its heartbeat deadline has passed, so that a request arriving after the deadline
    /// sees the session gone even when the wheel has not ticked yet. True when the session is closed.
    /// </summary>
    public bool ExpireIfOverdue()
    {
        lock (this)
        {
            if (_closed)
            {
                return true;
            }

            long now = _runtime.Wheel.Now;
            long pingDue = _awaitingPong ? _pingSentAt : _nextPingAt;
            bool pongSince = Volatile.Read(ref _lastPongAt) >= pingDue;
            if (!pongSince && now >= pingDue + Options.PingTimeout)
            {
                _runtime.Metrics.HeartbeatTimeout();
                CloseLocked(CloseReason.PingTimeout, clientInitiated: false, WebSocketCloseCode.NormalClosure, sendClose: true);
            }

            return _closed;
        }
    }

    // ---- Close --------------------------------------------------------------------------------------------------

    /// <summary>Closes the session and its transport. False when it was already closed.</summary>
    public bool Close(CloseReason reason, bool clientInitiated, ushort webSocketCode = WebSocketCloseCode.NormalClosure)
    {
        lock (this)
        {
            if (_closed)
            {
                return false;
            }

            CloseLocked(reason, clientInitiated, webSocketCode, sendClose: true);
            return true;
        }
    }

    private void CloseLocked(CloseReason reason, bool clientInitiated, ushort webSocketCode, bool sendClose)
    {
        if (_closed)
        {
            return;
        }

        Log.SessionClosed(_runtime.Logger, Sid, reason.ToText());
        if (_isWebSocket)
        {
            if (sendClose && !_ws!.FlushPending)
            {
                WebSocketClosePayload.WriteFrame(_ws.Writer, webSocketCode);
                FlushLocked();
            }

            _closed = true;
            _wsInput?.CancelPendingRead();
        }
        else
        {
            if (_parkedPoll is not null)
            {
                // engine.io: a client-initiated close ends the pending poll with a noop, a server close with "1".
                _pollQueue!.Reset();
                WriteTextPacketLocked(clientInitiated ? EngineIOPacketType.Noop : EngineIOPacketType.Close, default);
                RespondToPollLocked(_parkedPoll);
            }

            _closed = true;
        }

        _probing?.CloseProbe();
        _probing = null;
        _connectsSettled?.TrySetResult();
        _connectsSettled = null;
        _runtime.Unregister(this);
        _pollQueue?.Dispose();
        if (_runtime.OffersRecovery && reason.IsRecoverable())
        {
            // socket.io's recoverable disconnects: transport close/error, ping timeout, server shutdown, drain.
            SaveRecoverableSocketsLocked();
        }

        LeaveAllNamespacesLocked();
        _pendingBinary = null;
        ReleaseAddressLocked();
        _runtime.Metrics.SessionClosed(_isWebSocket, (int)reason);

        // The wheel and the fan-out drop closed sessions lazily (at the next tick / pass): keep only this object
        // alive until then, not the transport's pipes, buffers and the exception they completed with.
        _ws?.Release();
        _ws = null;
        _wsInput = null;
        _pollQueue = null;
        _parkedPoll = null;
    }
}
