using Gateway.Diagnostics;
using Gateway.Protocol;
using Gateway.Protocol.EngineIO;
using Gateway.Protocol.WebSockets;

namespace Gateway.EngineIO;

internal sealed partial class EngineSession
{
    private bool _closedByClientPacket;

    /// <summary>A complete WebSocket message on the session's own transport.</summary>
    public void OnWebSocketMessage(WebSocketOpcode opcode, ReadOnlySpan<byte> payload)
    {
        lock (this)
        {
            if (_closed)
            {
                return;
            }

            if (opcode == WebSocketOpcode.Binary)
            {
                OnBinaryMessageLocked(payload);
            }
            else
            {
                OnTextMessageLocked(payload);
            }

            CommitLocked();
        }
    }

    /// <summary>The WebSocket carrying this session ended (peer closed, or the read loop failed).</summary>
    public void OnTransportClosed(CloseReason reason)
    {
        lock (this)
        {
            CloseLocked(reason, clientInitiated: true, WebSocketCloseCode.NormalClosure, sendClose: false);
        }
    }

    /// <summary>Ends the session for bad input: counted, logged at Debug, the protocol's own close code.</summary>
    private void FailLocked(ProtocolError error)
    {
        _runtime.Metrics.ProtocolError();
        Log.BadInput(_runtime.Logger, Sid, error.ToString());
        CloseLocked(CloseReason.ProtocolError, clientInitiated: false, WebSocketCloseCode.ForError(error), sendClose: true);
    }

    /// <summary>One Engine.IO text packet. False when it ended the session for bad input.</summary>
    private bool OnTextMessageLocked(ReadOnlySpan<byte> packet)
    {
        ProtocolError error = EngineIOPacket.TryParseText(packet, out EngineIOPacketType type, out ReadOnlySpan<byte> data);
        if (error != ProtocolError.None)
        {
            FailLocked(error);
            return false;
        }

        switch (type)
        {
            case EngineIOPacketType.Pong:
                OnPong();
                return true;
            case EngineIOPacketType.Message:
                return OnSocketIOTextLocked(data);
            case EngineIOPacketType.Close:
                _closedByClientPacket = true;
                CloseLocked(CloseReason.ClientClose, clientInitiated: true, WebSocketCloseCode.NormalClosure, sendClose: true);
                return true;
            case EngineIOPacketType.Ping:
                // Engine.IO v4 heartbeats go server → client; a client ping is an error (engine.io: "invalid heartbeat direction").
                FailLocked(ProtocolError.InvalidEngineIOPacketType);
                return false;
            default:
                // open, upgrade and noop carry nothing for an established session (engine.io ignores them too).
                return true;
        }
    }
}

internal sealed partial class EngineSession
{
    /// <summary>A WebSocket control frame (pong, close) from the read loop, written in turn with everything else.</summary>
    public void SendWebSocketControl(WebSocketOpcode opcode, ReadOnlySpan<byte> payload)
    {
        lock (this)
        {
            if (_closed || !_isWebSocket)
            {
                return;
            }

            WriteWebSocketMessageLocked(opcode, payload);
            FlushLocked();
        }
    }

    /// <summary>The framing layer found bad input: end the session with the matching close code.</summary>
    public void FailTransport(ProtocolError error)
    {
        lock (this)
        {
            if (!_closed)
            {
                FailLocked(error);
            }
        }
    }
}
