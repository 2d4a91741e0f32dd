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
    private bool _handedOver; // "5" arrived: the session takes the output (guarded by lock (this))
    private WebSocketMessageState _state;
    private PooledBufferWriter? _fragments;
    private volatile bool _stopped;

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
            if (!_handedOver)
            {
                if (output.EndFlush() == OutputState.Done)
                {
                    output.Flush();
                }

                return;
            }

            next = _probeTarget ?? _session;
        }

        next?.OnOutputFlushed(output);
    }
}
