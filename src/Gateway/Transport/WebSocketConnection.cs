using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using Gateway.Diagnostics;
using Gateway.EngineIO;
using Gateway.Output;
using Gateway.Protocol;
using Gateway.Protocol.Buffers;
using Gateway.Protocol.WebSockets;
using Microsoft.AspNetCore.Connections;

namespace Gateway.Transport;

/// <summary>
/// The read side of one RFC 6455 connection: frames, fragmentation, control frames, limits. Complete messages go
/// to the session. Before an upgrade completes the connection only probes its session ("2probe" / "5").
/// </summary>
internal sealed class WebSocketConnection : IUpgradeProbe, IOutputOwner
{
    private static ReadOnlySpan<byte> ProbePing => "2probe"u8;
    private static ReadOnlySpan<byte> ProbePong => "3probe"u8;
    private static ReadOnlySpan<byte> UpgradePacket => "5"u8;

    private readonly GatewayRuntime _runtime;
    private readonly ConnectionContext _context;
    private readonly PipeReader _input;
    private readonly ConnectionOutput _output;
    private EngineSession? _session;
    private EngineSession? _probeTarget;

    // A probe of a session another gateway of the region holds (this connection takes it over at "5"), and the step
    // with that gateway in progress: the read loop waits for it before it reads on.
    private RemoteSession? _remoteTarget;
    private Task? _pending;
    private bool _handedOver; // "5" arrived: the session takes the output (guarded by lock (this))
    private WebSocketMessageState _state;
    private PooledBufferWriter? _fragments;
    private volatile bool _stopped;

    /// <summary>What admission counts for this connection, taken over from its HTTP connection at the upgrade.</summary>
    public ConnectionQuota Quota;

    /// <summary>
    /// The read side of an upgraded connection: of <paramref name="session"/> (a direct WebSocket session, which owns
    /// <paramref name="output"/>), or of a probe (null) that owns the output until its session takes it.
    /// </summary>
    public WebSocketConnection(GatewayRuntime runtime, ConnectionContext context, ConnectionOutput output, EngineSession? session)
    {
        _runtime = runtime;
        _context = context;
        _input = context.Transport.Input;
        _output = output;
        _session = session;
        if (session is null)
        {
            output.TransferTo(this);
        }
    }

    /// <summary>Makes this connection a probe for an upgrade of <paramref name="target"/>.</summary>
    public void SetProbeTarget(EngineSession target) => _probeTarget = target;

    /// <summary>Makes this connection a probe of a session another gateway of the region holds.</summary>
    public void SetProbeTarget(RemoteSession target) => _remoteTarget = target;

    /// <summary>A step with another gateway is in progress: the frames behind it wait (<see cref="TakePending"/>).</summary>
    public bool HasPending => _pending is not null;

    /// <summary>The step in progress, for the read loop to await before it reads on; null when none.</summary>
    public Task? TakePending()
    {
        Task? pending = _pending;
        _pending = null;
        return pending;
    }

    /// <summary>
    /// Handles what one read returned (the connection handler's loop does the reading, so an upgraded socket costs
    /// no async state machine of its own). True when the connection must end.
    /// </summary>
    public bool OnRead(ref ReadOnlySequence<byte> buffer, bool canceled)
    {
        if (canceled || _stopped || _session?.IsClosed == true)
        {
            return true;
        }

        return ProcessFrames(ref buffer);
    }

    /// <summary>The connection ended (peer gone, read loop failed, or we closed it).</summary>
    public void OnEnded()
    {
        _stopped = true;
        _fragments?.Dispose();
        _session?.OnTransportClosed(CloseReason.TransportClosed);
        _probeTarget?.AbortUpgrade(this);
        _remoteTarget?.Abort();
    }

    /// <summary>Parses every complete frame. True when the connection must end.</summary>
    private bool ProcessFrames(ref ReadOnlySequence<byte> buffer)
    {
        Span<byte> controlPayload = stackalloc byte[WebSocketFrameHeader.MaxControlPayloadLength];
        while (!buffer.IsEmpty)
        {
            OperationStatus status = WebSocketFrameHeader.TryRead(buffer, requireMask: true, out WebSocketFrameHeader header, out ProtocolError error);
            if (status == OperationStatus.NeedMoreData)
            {
                return false;
            }

            if (status == OperationStatus.InvalidData)
            {
                return Fail(error);
            }

            if (header.IsControl)
            {
                if (buffer.Length < header.HeaderLength + header.PayloadLength)
                {
                    return false;
                }

                Span<byte> payload = controlPayload.Slice(0, (int)header.PayloadLength);
                buffer.Slice(header.HeaderLength, header.PayloadLength).CopyTo(payload);
                WebSocketMask.Apply(payload, header.MaskKey, 0);
                buffer = buffer.Slice(header.HeaderLength + header.PayloadLength);
                if (OnControlFrame(header.Opcode, payload))
                {
                    return true;
                }

                continue;
            }

            long frameLength = header.HeaderLength + header.PayloadLength;
            if (buffer.Length < frameLength)
            {
                // Wait for the whole frame, unless it can never fit the limit (fail now, before buffering it).
                return header.PayloadLength > _runtime.Options.MaxPayload && Fail(ProtocolError.MessageTooBig);
            }

            error = _state.OnDataFrame(header, _runtime.Options.MaxPayload);
            if (error != ProtocolError.None)
            {
                return Fail(error);
            }

            ReadOnlySequence<byte> payloadBytes = buffer.Slice(header.HeaderLength, header.PayloadLength);
            buffer = buffer.Slice(frameLength);

            // Unmask in place: the pipe's memory is ours until AdvanceTo.
            int maskOffset = 0;
            foreach (ReadOnlyMemory<byte> segment in payloadBytes)
            {
                Span<byte> span = MemoryMarshal.AsMemory(segment).Span;
                maskOffset = WebSocketMask.Apply(span, header.MaskKey, maskOffset);
                error = _state.OnPayload(span);
                if (error != ProtocolError.None)
                {
                    return Fail(error);
                }
            }

            bool wholeMessage = header.Fin && header.Opcode != WebSocketOpcode.Continuation;
            if (wholeMessage && payloadBytes.IsSingleSegment)
            {
                _state.OnMessageEnd();
                if (Deliver(header.Opcode, payloadBytes.FirstSpan))
                {
                    return true;
                }

                if (_pending is not null)
                {
                    return false; // the rest waits in the pipe for the step with the other gateway
                }

                continue;
            }

            _fragments ??= new PooledBufferWriter(0);
            foreach (ReadOnlyMemory<byte> segment in payloadBytes)
            {
                _fragments.Write(segment.Span);
            }

            if (!header.Fin)
            {
                continue;
            }

            WebSocketOpcode opcode = _state.MessageOpcode;
            error = _state.OnMessageEnd();
            if (error != ProtocolError.None)
            {
                return Fail(error);
            }

            bool stop = Deliver(opcode, _fragments.WrittenSpan);
            _fragments.Reset(keepAtMost: 64 * 1024);
            if (stop)
            {
                return true;
            }

            if (_pending is not null)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>Handles ping / pong / close. True when the connection ends.</summary>
    private bool OnControlFrame(WebSocketOpcode opcode, ReadOnlySpan<byte> payload)
    {
        switch (opcode)
        {
            case WebSocketOpcode.Ping:
                WriteControl(WebSocketOpcode.Pong, payload);
                return false;
            case WebSocketOpcode.Pong:
                return false;
            default:
                ProtocolError error = WebSocketClosePayload.TryParse(payload, out ushort code, out _);
                if (error != ProtocolError.None)
                {
                    return Fail(error);
                }

                // §5.5.1: answer with a close frame echoing the status code, then end the connection.
                ushort answer = code == 1005 ? WebSocketCloseCode.NormalClosure : code;
                if (_session is not null)
                {
                    _session.Close(CloseReason.ClientClosedWebSocket, clientInitiated: true, answer);
                }
                else
                {
                    CloseProbe(answer);
                }

                return true;
        }
    }

    private void WriteControl(WebSocketOpcode opcode, ReadOnlySpan<byte> payload)
    {
        if (_session is not null)
        {
            _session.SendWebSocketControl(opcode, payload);
            return;
        }

        lock (this)
        {
            if (_stopped || _handedOver)
            {
                return;
            }

            WebSocketFrameHeader.Write(_output.Writer, opcode, fin: true, payload.Length);
            _output.Writer.Write(payload);
            _output.Flush();
        }
    }

    private bool Fail(ProtocolError error)
    {
        if (_session is not null)
        {
            _session.FailTransport(error);
        }
        else
        {
            _runtime.Metrics.ProtocolError();
            Log.BadInput(_runtime.Logger, _context.ConnectionId, error.ToString());
            CloseProbe(WebSocketCloseCode.ForError(error));
        }

        return true;
    }

    /// <summary>A complete message. True when the connection ends.</summary>
    private bool Deliver(WebSocketOpcode opcode, ReadOnlySpan<byte> message)
    {
        if (_session is not null)
        {
            _session.OnWebSocketMessage(opcode, message);
            return _session.IsClosed;
        }

        if (_remoteTarget is not null)
        {
            return DeliverToRemoteProbe(opcode, message);
        }

        EngineSession? target = _probeTarget;
        if (target is null)
        {
            return true;
        }

        if (opcode == WebSocketOpcode.Text && message.SequenceEqual(ProbePing))
        {
            WriteControl(WebSocketOpcode.Text, ProbePong);
            target.OnProbe(this);
            return false;
        }

        if (opcode == WebSocketOpcode.Text && message.SequenceEqual(UpgradePacket))
        {
            // From here the probe writes nothing; a flush of its own still pending completes into the session.
            // (Not holding this lock while calling the session: the session closes probes under its own lock.)
            lock (this)
            {
                _handedOver = true;
            }

            if (target.CompleteUpgrade(this, _output, _input))
            {
                _session = target;
                _probeTarget = null;
                return false;
            }

            lock (this)
            {
                _handedOver = false;
            }

            CloseProbe(WebSocketCloseCode.NormalClosure);
            return true;
        }

        // engine.io closes a probing transport that sends anything else; the session stays on polling.
        target.AbortUpgrade(this);
        return true;
    }

    /// <summary>
    /// A probe of another gateway's session: "2probe" is answered once that gateway has let the probe begin; "5" takes
    /// the session over (the frames behind it are read once its sockets are restored). Anything else ends the probe.
    /// </summary>
    private bool DeliverToRemoteProbe(WebSocketOpcode opcode, ReadOnlySpan<byte> message)
    {
        RemoteSession remote = _remoteTarget!;
        if (opcode == WebSocketOpcode.Text && message.SequenceEqual(ProbePing) && !remote.Probing)
        {
            _pending = ProbeRemoteAsync(remote);
            return false;
        }

        if (opcode == WebSocketOpcode.Text && message.SequenceEqual(UpgradePacket) && remote.Probing)
        {
            lock (this)
            {
                _handedOver = true; // the session takes the output once it exists
            }

            _pending = TakeOverAsync(remote);
            return false;
        }

        CloseProbe(WebSocketCloseCode.NormalClosure); // OnEnded gives the probe up
        return true;
    }

    private async Task ProbeRemoteAsync(RemoteSession remote)
    {
        if (await remote.ProbeAsync().ConfigureAwait(false))
        {
            WriteControl(WebSocketOpcode.Text, ProbePong);
        }
        else
        {
            CloseProbe(WebSocketCloseCode.NormalClosure);
        }
    }

    private async Task TakeOverAsync(RemoteSession remote)
    {
        HandoverState? state = await remote.HandOverAsync().ConfigureAwait(false);
        if (state is null)
        {
            lock (this)
            {
                _handedOver = false;
            }

            CloseProbe(WebSocketCloseCode.NormalClosure);
            return;
        }

        EngineSession session;
        lock (this)
        {
            // Under this lock: a flush of the probe's own completing meanwhile is ended here or passed to the session.
            _remoteTarget = null;
            session = EngineSession.TakeOver(_runtime, state, _output, _input);
            _session = session;
        }

        _runtime.Metrics.RegionTakenOver();
        await session.ConnectsSettled().ConfigureAwait(false);
    }

    /// <summary>Ends a connection that is not (or no longer) a session's transport.</summary>
    public void CloseProbe(ushort code = WebSocketCloseCode.NormalClosure)
    {
        lock (this)
        {
            if (_stopped || _handedOver)
            {
                return;
            }

            _stopped = true;
            WebSocketClosePayload.WriteFrame(_output.Writer, code);
            _output.Flush();
            _input.CancelPendingRead();
        }
    }

    /// <summary>A probe's flush completed: send what was written meanwhile, or pass it on to the session that took over.</summary>
    void IOutputOwner.OnOutputFlushed(ConnectionOutput output)
    {
        IOutputOwner? next;
        lock (this)
        {
            next = (IOutputOwner?)_probeTarget ?? _session;
            if (!_handedOver || next is null)
            {
                // Still the probe's (a session from another gateway is not taken over yet: the probe writes nothing more).
                if (output.EndFlush() == OutputState.Done)
                {
                    output.Flush();
                }

                return;
            }
        }

        next?.OnOutputFlushed(output);
    }
}
