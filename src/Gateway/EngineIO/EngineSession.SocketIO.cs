using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Answers;
using Gateway.Broadcast;
using Gateway.Events;
using Gateway.Identity;
using Gateway.Protocol;
using Gateway.Protocol.Buffers;
using Gateway.Protocol.EngineIO;
using Gateway.Protocol.SocketIO;
using Gateway.Protocol.WebSockets;
using Gateway.Prompts;
using Gateway.Recovery;
using Gateway.SocketIO;

namespace Gateway.EngineIO;

internal sealed partial class EngineSession : IRecoveryTarget, ISocketReplies
{
    // Most sessions use one namespace: it lives in a field; further ones in a small array.
    private NamespaceSocket? _socket0;
    private NamespaceSocket?[]? _moreSockets;
    private int _moreCount;
    private bool _joinedAny;
    private PendingBinaryPacket? _pendingBinary;

    /// <summary>A BINARY_EVENT / BINARY_ACK waiting for its attachments (each a separate Engine.IO message).</summary>
    private sealed class PendingBinaryPacket(byte[] text, int expected)
    {
        public readonly byte[] Text = text;
        public readonly int Expected = expected;
        public readonly List<byte[]> Attachments = new(expected);
    }

    private NamespaceSocket? FindSocket(int namespaceIndex)
    {
        NamespaceSocket? first = _socket0;
        if (first is not null && first.NamespaceIndex == namespaceIndex)
        {
            return first;
        }

        for (int i = 0; i < _moreCount; i++)
        {
            NamespaceSocket? socket = _moreSockets![i];
            if (socket!.NamespaceIndex == namespaceIndex)
            {
                return socket;
            }
        }

        return null;
    }

    private void AddSocket(NamespaceSocket socket)
    {
        _joinedAny = true;
        if (_socket0 is null)
        {
            _socket0 = socket;
            return;
        }

        _moreSockets ??= new NamespaceSocket?[2];
        if (_moreCount == _moreSockets.Length)
        {
            Array.Resize(ref _moreSockets, _moreCount * 2);
        }

        _moreSockets[_moreCount++] = socket;
    }

    private void RemoveSocket(NamespaceSocket socket)
    {
        _runtime.Metrics.NamespaceLeft(socket.NamespaceIndex);
        _runtime.Membership.LeaveAll(socket);
        if (_socket0 == socket)
        {
            _socket0 = null;
            if (_moreCount > 0)
            {
                _socket0 = _moreSockets![--_moreCount];
                _moreSockets[_moreCount] = null;
            }

            return;
        }

        for (int i = 0; i < _moreCount; i++)
        {
            if (_moreSockets![i] == socket)
            {
                _moreSockets[i] = _moreSockets[--_moreCount];
                _moreSockets[_moreCount] = null;
                return;
            }
        }
    }

    /// <summary>
    /// Server-side DISCONNECT of one namespace (socket.io's <c>socket.disconnect()</c>): the client gets
    /// <c>1/ns,</c> and the Engine.IO session stays. True when this session had a socket there.
    /// </summary>
    public bool DisconnectNamespace(int namespaceIndex)
    {
        lock (this)
        {
            NamespaceSocket? socket = _closed ? null : FindSocket(namespaceIndex);
            if (socket is null)
            {
                return false;
            }

            RemoveSocket(socket);
            PooledBufferWriter scratch = PacketScratch.Get();
            SocketIOPacketWriter.WriteHeader(scratch, SocketIOPacketType.Disconnect, _runtime.Namespaces[namespaceIndex]);
            WriteTextPacketLocked(EngineIOPacketType.Message, scratch.WrittenSpan);
            CommitLocked();
            return true;
        }
    }

    private void SaveRecoverableSocketsLocked()
    {
        if (_socket0 is { } first)
        {
            SaveRecoverableSocket(first);
        }

        for (int i = 0; i < _moreCount; i++)
        {
            SaveRecoverableSocket(_moreSockets![i]!);
        }
    }

    private void SaveRecoverableSocket(NamespaceSocket socket)
    {
        if (socket.Pid is not null)
        {
            _runtime.Recovery.SaveSession(socket.Pid, socket.Id, _runtime.NamespaceNames[socket.NamespaceIndex], socket.JoinPosition, socket.ChannelNames);
        }
    }

    private void LeaveAllNamespacesLocked()
    {
        while (_socket0 is not null)
        {
            RemoveSocket(_socket0);
        }
    }

    /// <summary>One Socket.IO packet (the data of an Engine.IO message). False when it ended the session.</summary>
    private bool OnSocketIOTextLocked(ReadOnlySpan<byte> text)
    {
        if (_pendingBinary is not null)
        {
            // socket-io-parser: "got plaintext data when reconstructing a packet".
            FailLocked(ProtocolError.InvalidAttachments);
            return false;
        }

        ProtocolError error = SocketIOPacketParser.TryParse(text, out SocketIOPacket packet);
        if (error != ProtocolError.None)
        {
            FailLocked(error);
            return false;
        }

        if (packet.IsBinary && packet.Attachments > 0)
        {
            _pendingBinary = new PendingBinaryPacket(text.ToArray(), packet.Attachments);
            return true;
        }

        return DispatchLocked(packet, attachments: null);
    }

    /// <summary>A binary Engine.IO message: the next attachment of the pending binary packet.</summary>
    private void OnBinaryMessageLocked(ReadOnlySpan<byte> data)
    {
        PendingBinaryPacket? pending = _pendingBinary;
        if (pending is null)
        {
            // socket-io-parser: "got binary data when not reconstructing a packet".
            FailLocked(ProtocolError.InvalidAttachments);
            return;
        }

        pending.Attachments.Add(data.ToArray());
        if (pending.Attachments.Count < pending.Expected)
        {
            return;
        }

        _pendingBinary = null;
        SocketIOPacketParser.TryParse(pending.Text, out SocketIOPacket packet);
        DispatchLocked(packet, pending.Attachments);
    }

    private bool DispatchLocked(in SocketIOPacket packet, List<byte[]>? attachments)
    {
        int namespaceIndex = _runtime.FindNamespace(packet.Namespace);
        NamespaceSocket? socket = namespaceIndex < 0 ? null : FindSocket(namespaceIndex);
        switch (packet.Type)
        {
            case SocketIOPacketType.Connect:
                if (socket is not null)
                {
                    // socket.io closes the connection on a CONNECT for a namespace already joined ("invalid state").
                    FailLocked(ProtocolError.InvalidNamespace);
                    return false;
                }

                ConnectLocked(packet, namespaceIndex);
                return true;
            case SocketIOPacketType.Disconnect:
                if (socket is null)
                {
                    FailLocked(ProtocolError.InvalidNamespace);
                    return false;
                }

                RemoveSocket(socket);
                return true;
            case SocketIOPacketType.Event:
            case SocketIOPacketType.BinaryEvent:
                if (socket is null)
                {
                    FailLocked(ProtocolError.InvalidNamespace);
                    return false;
                }

                _runtime.Events.OnEvent(this, socket, packet, attachments);
                return true;
            case SocketIOPacketType.Ack:
            case SocketIOPacketType.BinaryAck:
                if (socket is null)
                {
                    FailLocked(ProtocolError.InvalidNamespace);
                    return false;
                }

                ApplicationEvents.OnAck(this, socket, packet, attachments);
                return true;
            default:
                // CONNECT_ERROR goes server → client only.
                FailLocked(ProtocolError.InvalidSocketIOPacketType);
                return false;
        }
    }

    // ---- CONNECT ------------------------------------------------------------------------------------------------

    private void ConnectLocked(in SocketIOPacket packet, int namespaceIndex)
    {
        if (namespaceIndex < 0)
        {
            SendConnectErrorLocked(packet.Namespace, "Invalid namespace"u8);
            return;
        }

        // Channels listed in the handshake auth: {"channels":["show-42"]}; pid/offset from a recovering client. Their
        // shape and count are checked here, before a recovery is asked for; the registry's limits when joining.
        List<string>? channels = null;
        string? pid = null, offset = null, token = null;
        if (!packet.Payload.IsEmpty && !TryReadAuth(packet.Payload, out channels, out pid, out offset, out token))
        {
            SendConnectErrorLocked(packet.Namespace, _runtime.Membership.Refuse(ChannelRefusal.InvalidName).ConnectErrorText());
            return;
        }

        // Viewer identity (Gateway:Auth:Jwt): every CONNECT, a recovering one too, proves its viewer again.
        Viewer? viewer = null;
        if (_runtime.ViewerTokens is { } tokens)
        {
            viewer = tokens.Validate(token);
            if (viewer is null)
            {
                SendConnectErrorLocked(packet.Namespace, "unauthorized"u8);
                return;
            }

            if (channels is not null && !channels.TrueForAll(viewer.MayJoin))
            {
                SendConnectErrorLocked(packet.Namespace, _runtime.Membership.Refuse(ChannelRefusal.NotAllowed).ConnectErrorText());
                return;
            }
        }

        if (channels is not null && channels.Count > Options.MaxChannelsPerSocket)
        {
            SendConnectErrorLocked(packet.Namespace, _runtime.Membership.Refuse(ChannelRefusal.TooManyChannels).ConnectErrorText());
            return;
        }

        if (channels is not null && !channels.TrueForAll(ChannelRegistry.IsValidName))
        {
            SendConnectErrorLocked(packet.Namespace, _runtime.Membership.Refuse(ChannelRefusal.InvalidName).ConnectErrorText());
            return;
        }

        byte[]? auth = packet.Payload.IsEmpty ? null : packet.Payload.ToArray();
        if (pid is not null && _runtime.OffersRecovery)
        {
            // The reply waits for the prompt reader: it knows what this socket missed.
            var request = new RecoveryRequest(this, namespaceIndex, pid, offset, auth, channels, viewer);
            (_pendingConnects ??= []).Add(namespaceIndex);
            _joinedAny = true;
            if (_runtime.Recovery.TryRequest(request))
            {
                return;
            }

            _pendingConnects.Remove(namespaceIndex);
            _runtime.Metrics.Recovery(false);
        }

        JoinLocked(namespaceIndex, auth, channels, recovered: null, viewer);
    }

    // Namespaces whose CONNECT waits for a recovery answer.
    private List<int>? _pendingConnects;

    /// <summary>
    /// The answer to a recovery request: <paramref name="state"/> restores the socket (same id, channels, the prompts
    /// it missed, <c>recovered: true</c>); null connects it fresh.
    /// </summary>
    public void CompleteRecovery(RecoveryRequest request, RecoveredState? state)
    {
        lock (this)
        {
            if (_closed || _pendingConnects is null || !_pendingConnects.Remove(request.NamespaceIndex) || FindSocket(request.NamespaceIndex) is not null)
            {
                SignalConnectsSettledLocked();
                return;
            }

            if (request.HandedOver is not null && state is null)
            {
                // What this socket missed cannot be known exactly here: the client reconnects and recovers itself.
                CloseLocked(CloseReason.StreamGap, clientInitiated: false, WebSocketCloseCode.NormalClosure, sendClose: true);
                return;
            }

            List<string>? channels = state?.Channels ?? request.AuthChannels;
            if (channels is not null && request.Viewer is { Channels: not null } viewer)
            {
                // The recovered socket's channels were allowed by an earlier token; this one decides now.
                channels = channels.FindAll(viewer.MayJoin);
            }

            if (channels is not null && channels.Count > Options.MaxChannelsPerSocket)
            {
                channels = channels.GetRange(0, Options.MaxChannelsPerSocket);
            }

            JoinLocked(request.NamespaceIndex, request.Auth, channels, state, request.Viewer, reply: request.HandedOver is null);
            CommitLocked();
            SignalConnectsSettledLocked();
        }
    }

    /// <summary>
    /// Adds the socket and writes the CONNECT reply (unless it was handed over: its client has had one), then what it
    /// should have: missed or current prompts.
    /// </summary>
    private void JoinLocked(int namespaceIndex, byte[]? auth, List<string>? channels, RecoveredState? recovered, Viewer? viewer, bool reply = true)
    {
        // Position before head (the source moves them the other way round): nothing falls between the two.
        StreamPosition position = _runtime.Prompts.Position;
        string sid = recovered?.Sid ?? NewId();
        string? pid = _runtime.OffersRecovery ? recovered?.Pid ?? _runtime.Recovery.IssuePid(sid, _runtime.NamespaceNames[namespaceIndex], position) : null;
        var socket = new NamespaceSocket(namespaceIndex, sid, auth, _runtime.Ring.Head, pid, position, viewer);
        if (channels is not null)
        {
            if (recovered is not null)
            {
                // What it was in: each channel it can still join.
                _runtime.Membership.JoinEach(socket, channels);
            }
            else
            {
                ChannelRefusal refusal = _runtime.Membership.Join(socket, channels, joined: null);
                if (refusal != ChannelRefusal.None)
                {
                    SendConnectErrorLocked(_runtime.Namespaces[namespaceIndex], refusal.ConnectErrorText());
                    return;
                }
            }
        }

        AddSocket(socket);
        _runtime.Metrics.NamespaceJoined(namespaceIndex);

        if (reply)
        {
            PooledBufferWriter scratch = PacketScratch.Get();
            SocketIOPacketWriter.WriteHeader(scratch, SocketIOPacketType.Connect, _runtime.Namespaces[namespaceIndex]);
            scratch.WriteBytes("{\"sid\":\""u8);
            scratch.WriteAscii(socket.Id);
            if (pid is not null)
            {
                scratch.WriteBytes("\",\"pid\":\""u8);
                scratch.WriteAscii(pid);
            }

            scratch.WriteBytes("\"}"u8);
            WriteTextPacketLocked(EngineIOPacketType.Message, scratch.WrittenSpan);
        }

        if (recovered is not null)
        {
            // Exactly what it missed; the current prompt is for fresh connections only.
            foreach (PromptFrames frames in recovered.Missed)
            {
                WriteFramesLocked(frames);
            }

            return;
        }

        SendCurrentPromptsLocked(socket, channelsAdded: null);
    }

    /// <summary>
    /// Late joiners: the current prompt of the namespace and of each (newly joined) channel that the ring will not
    /// bring this socket — published before both its join and this session's cursor.
    /// </summary>
    private void SendCurrentPromptsLocked(NamespaceSocket socket, List<long>? channelsAdded)
    {
        int maxAge = Options.LateJoin.MaxAge ?? 0;
        if (maxAge <= 0)
        {
            return;
        }

        // A join, not a broadcast: small arrays are fine here.
        ReadOnlySpan<string> socketNames = socket.ChannelNames;
        ReadOnlySpan<long> socketIds = socket.ChannelIds;
        var names = new string?[1 + socketNames.Length];
        var ids = new long[names.Length];
        int count = 0;
        if (channelsAdded is null)
        {
            names[count] = null;
            ids[count++] = ChannelRegistry.WholeNamespace;
        }

        for (int i = 0; i < socketNames.Length; i++)
        {
            if (channelsAdded is null || channelsAdded.Contains(socketIds[i]))
            {
                names[count] = socketNames[i];
                ids[count++] = socketIds[i];
            }
        }

        var current = new List<CurrentPrompt>();
        _runtime.Broadcaster.CollectCurrent(socket.NamespaceIndex, names.AsSpan(0, count), ids.AsSpan(0, count), Math.Max(_cursor, socket.JoinedAt), maxAge, current);
        foreach (CurrentPrompt prompt in current)
        {
            WriteFramesLocked(prompt.Frames);
        }
    }

    private void WriteFramesLocked(PromptFrames frames)
    {
        if (_closed)
        {
            return;
        }

        if (_isWebSocket)
        {
            _ws!.Writer.Write(frames.WebSocketFrame);
        }
        else
        {
            PooledBufferWriter queue = _pollQueue!;
            if (queue.WrittenCount > 0)
            {
                queue.Write(EngineIOPollingPayload.RecordSeparator);
            }

            queue.Write(frames.PollingRecord);
        }
    }

    private void SendConnectErrorLocked(ReadOnlySpan<byte> nsp, ReadOnlySpan<byte> message)
    {
        PooledBufferWriter scratch = PacketScratch.Get();
        SocketIOPacketWriter.WriteHeader(scratch, SocketIOPacketType.ConnectError, nsp);
        scratch.WriteBytes("{\"message\":\""u8);
        scratch.WriteBytes(message);
        scratch.WriteBytes("\"}"u8);
        WriteTextPacketLocked(EngineIOPacketType.Message, scratch.WrittenSpan);
    }

    private static bool TryReadAuth(ReadOnlySpan<byte> auth, out List<string>? channels, out string? pid, out string? offset, out string? token)
    {
        channels = null;
        pid = null;
        offset = null;
        token = null;
        var reader = new Utf8JsonReader(auth);
        reader.Read(); // StartObject (checked by the parser)
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int property = reader.ValueTextEquals("channels"u8) ? 1 : reader.ValueTextEquals("pid"u8) ? 2 : reader.ValueTextEquals("offset"u8) ? 3
                : reader.ValueTextEquals("token"u8) ? 4 : 0;
            reader.Read();
            if (property == 4)
            {
                // The viewer's JWT; anything but a string of sane length is no token (unauthorized when identity is on).
                if (reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length <= ViewerTokens.MaxTokenLength)
                {
                    token = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }

                continue;
            }

            if (property is 2 or 3)
            {
                // socket.io-client's recovery fields; anything but a short string is ignored, as socket.io does. Our
                // signed pids are ≈ 90 characters (IRecovery.IssuePid in Redis mode).
                if (reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length <= 128)
                {
                    if (property == 2)
                    {
                        pid = reader.GetString();
                    }
                    else
                    {
                        offset = reader.GetString();
                    }
                }

                continue;
            }

            if (property == 0)
            {
                reader.Skip();
                continue;
            }

            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }

            if (!ChannelList.TryRead(ref reader, out channels))
            {
                return false;
            }
        }

        return true;
    }

    // ---- EVENT / ACK: the application's events (Events/) ------------------------------------------------------

    void ISocketReplies.Send(ReadOnlySpan<byte> socketIOPacket, List<byte[]>? attachments) => SendWithAttachmentsLocked(socketIOPacket, attachments);

    void ISocketReplies.SendCurrentPrompts(NamespaceSocket socket, List<long> channelIds) => SendCurrentPromptsLocked(socket, channelIds);

    /// <summary>The answer sink's verdict on one answer: acks the client (if it still is here).</summary>
    public void CompleteAnswer(PendingAnswer answer, AnswerRefusal refusal)
    {
        var socket = (NamespaceSocket)answer.Socket;
        if (refusal is not (AnswerRefusal.None or AnswerRefusal.Duplicate))
        {
            _runtime.Events.Prompts.Answered.Forget(answer.Viewer, answer.PromptId); // not stored: may be sent again
        }

        lock (this)
        {
            if (refusal == AnswerRefusal.None)
            {
                _runtime.AnswerTally.Count(answer.PromptId, answer.Data);
            }

            if (_closed || answer.AckId < 0 || FindSocket(socket.NamespaceIndex) != socket)
            {
                return;
            }

            PooledBufferWriter scratch = PacketScratch.Get();
            AnswerAck.Write(scratch, _runtime.Namespaces[socket.NamespaceIndex], answer.AckId, refusal);
            WriteTextPacketLocked(EngineIOPacketType.Message, scratch.WrittenSpan);
            CommitLocked();
        }
    }

    private void SendWithAttachmentsLocked(ReadOnlySpan<byte> socketIOPacket, List<byte[]>? attachments)
    {
        WriteTextPacketLocked(EngineIOPacketType.Message, socketIOPacket);
        if (attachments is not null)
        {
            foreach (byte[] attachment in attachments)
            {
                WriteBinaryLocked(attachment);
            }
        }
    }
}
