using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Protocol;
using Gateway.Protocol.Buffers;
using Gateway.Protocol.EngineIO;
using Gateway.Protocol.SocketIO;
using Gateway.Protocol.WebSockets;

namespace Gateway.Connections;

internal sealed partial class EngineSession
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
            PooledBufferWriter scratch = Scratch;
            SocketIOPacketWriter.WriteHeader(scratch, SocketIOPacketType.Disconnect, _runtime.Namespaces[namespaceIndex]);
            WriteTextPacketLocked(EngineIOPacketType.Message, scratch.WrittenSpan);
            CommitLocked();
            return true;
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

                OnEventLocked(socket, packet, attachments);
                return true;
            case SocketIOPacketType.Ack:
            case SocketIOPacketType.BinaryAck:
                if (socket is null)
                {
                    FailLocked(ProtocolError.InvalidNamespace);
                    return false;
                }

                OnAckLocked(socket, packet, attachments);
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

        // Channels listed in the handshake auth: {"channels":["show-42"]}.
        List<string>? channels = null;
        if (!packet.Payload.IsEmpty && !TryReadAuthChannels(packet.Payload, out channels))
        {
            SendConnectErrorLocked(packet.Namespace, "Invalid channels"u8);
            return;
        }

        if (channels is not null && channels.Count > Options.MaxChannelsPerSocket)
        {
            SendConnectErrorLocked(packet.Namespace, "Too many channels"u8);
            return;
        }

        var socket = new NamespaceSocket(namespaceIndex, NewId(), packet.Payload.IsEmpty ? null : packet.Payload.ToArray(), _runtime.Ring.Head);
        if (channels is not null)
        {
            foreach (string channel in channels)
            {
                int id = _runtime.Channels.GetOrAdd(channel);
                if (id < 0)
                {
                    SendConnectErrorLocked(packet.Namespace, "Invalid channels"u8);
                    return;
                }

                socket.AddChannel(id, channel, Options.MaxChannelsPerSocket);
            }
        }

        AddSocket(socket);
        _runtime.Metrics.NamespaceJoined(namespaceIndex);

        PooledBufferWriter scratch = Scratch;
        SocketIOPacketWriter.WriteHeader(scratch, SocketIOPacketType.Connect, _runtime.Namespaces[namespaceIndex]);
        scratch.WriteBytes("{\"sid\":\""u8);
        scratch.WriteAscii(socket.Id);
        scratch.WriteBytes("\"}"u8);
        WriteTextPacketLocked(EngineIOPacketType.Message, scratch.WrittenSpan);
    }

    private void SendConnectErrorLocked(ReadOnlySpan<byte> nsp, ReadOnlySpan<byte> message)
    {
        PooledBufferWriter scratch = Scratch;
        SocketIOPacketWriter.WriteHeader(scratch, SocketIOPacketType.ConnectError, nsp);
        scratch.WriteBytes("{\"message\":\""u8);
        scratch.WriteBytes(message);
        scratch.WriteBytes("\"}"u8);
        WriteTextPacketLocked(EngineIOPacketType.Message, scratch.WrittenSpan);
    }

    private static bool TryReadAuthChannels(ReadOnlySpan<byte> auth, out List<string>? channels)
    {
        channels = null;
        var reader = new Utf8JsonReader(auth);
        reader.Read(); // StartObject (checked by the parser)
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isChannels = reader.ValueTextEquals("channels"u8);
            reader.Read();
            if (!isChannels)
            {
                reader.Skip();
                continue;
            }

            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }

            return TryReadChannelList(ref reader, out channels);
        }

        return true;
    }

    /// <summary>Reads a channel name or an array of names at the reader's current token.</summary>
    private static bool TryReadChannelList(ref Utf8JsonReader reader, out List<string>? channels)
    {
        channels = new List<string>();
        if (reader.TokenType == JsonTokenType.String)
        {
            channels.Add(reader.GetString()!);
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                return false;
            }

            channels.Add(reader.GetString()!);
            if (channels.Count > 1024)
            {
                return false;
            }
        }

        return true;
    }

    // ---- EVENT / ACK --------------------------------------------------------------------------------------------

    private void OnEventLocked(NamespaceSocket socket, in SocketIOPacket packet, List<byte[]>? attachments)
    {
        ReadOnlySpan<byte> name = packet.EventNameEscaped ? default : packet.EventName;
        bool diagnostics = Options.Diagnostics.Echo;
        if (name.SequenceEqual("time"u8))
        {
            if (packet.HasAckId)
            {
                PooledBufferWriter scratch = Scratch;
                SocketIOPacketWriter.WriteHeader(scratch, SocketIOPacketType.Ack, packet.Namespace, packet.AckId);
                scratch.WriteBytes("[{\"now\":"u8);
                scratch.WriteInt64(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                scratch.WriteBytes("}]"u8);
                WriteTextPacketLocked(EngineIOPacketType.Message, scratch.WrittenSpan);
            }
        }
        else if (name.SequenceEqual("subscribe"u8) || name.SequenceEqual("unsubscribe"u8))
        {
            OnSubscriptionLocked(socket, packet, subscribe: name[0] == (byte)'s');
        }
        else if (diagnostics && name.SequenceEqual("echo"u8))
        {
            // Emit the same event back; with an ack id, ask the client for an ack and relay it to the original call.
            long serverAckId = packet.HasAckId ? socket.AddRelay(packet.AckId) : -1;
            PooledBufferWriter scratch = Scratch;
            SocketIOPacketWriter.WriteHeader(scratch, packet.Type, packet.Namespace, serverAckId, packet.Attachments);
            scratch.WriteBytes(packet.Payload);
            SendWithAttachmentsLocked(scratch.WrittenSpan, attachments);
        }
        else if (diagnostics && name.SequenceEqual("ack"u8))
        {
            if (packet.HasAckId)
            {
                PooledBufferWriter scratch = Scratch;
                SocketIOPacketWriter.WriteAck(scratch, packet.Namespace, packet.AckId, packet.EventArguments, attachments?.Count ?? 0);
                SendWithAttachmentsLocked(scratch.WrittenSpan, attachments);
            }
        }
        else if (diagnostics && name.SequenceEqual("auth"u8))
        {
            if (packet.HasAckId)
            {
                PooledBufferWriter scratch = Scratch;
                SocketIOPacketWriter.WriteAck(scratch, packet.Namespace, packet.AckId, socket.Auth ?? "{}"u8.ToArray());
                WriteTextPacketLocked(EngineIOPacketType.Message, scratch.WrittenSpan);
            }
        }
        else
        {
            _runtime.Metrics.UnknownEvent();
        }
    }

    private void OnAckLocked(NamespaceSocket socket, in SocketIOPacket packet, List<byte[]>? attachments)
    {
        long clientAckId = socket.TakeRelay(packet.AckId);
        if (clientAckId < 0)
        {
            return; // an ack we did not ask for (or gave up on): ignored, as socket.io does
        }

        PooledBufferWriter scratch = Scratch;
        SocketIOPacketWriter.WriteHeader(scratch, packet.Type, packet.Namespace, clientAckId, packet.Attachments);
        scratch.WriteBytes(packet.Payload);
        SendWithAttachmentsLocked(scratch.WrittenSpan, attachments);
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

    // All or nothing: a refused subscribe leaves the socket's channels as they were.
    private string? SubscribeAll(NamespaceSocket socket, List<string> channels)
    {
        int added = 0;
        foreach (string channel in channels)
        {
            int known = _runtime.Channels.Find(channel);
            if (known < 0 || !socket.HasChannel(known))
            {
                added++;
            }
        }

        if (socket.ChannelCount + added > Options.MaxChannelsPerSocket)
        {
            return "too many channels";
        }

        foreach (string channel in channels)
        {
            int id = _runtime.Channels.GetOrAdd(channel);
            if (id < 0)
            {
                return "invalid channel";
            }

            socket.AddChannel(id, channel, Options.MaxChannelsPerSocket);
        }

        return null;
    }

    private void OnSubscriptionLocked(NamespaceSocket socket, in SocketIOPacket packet, bool subscribe)
    {
        var reader = new Utf8JsonReader(packet.Payload);
        reader.Read(); // [
        reader.Read(); // "subscribe"
        string? error = null;
        if (!reader.Read() || !TryReadChannelList(ref reader, out List<string>? channels) || channels is null)
        {
            error = "invalid channel";
        }
        else
        {
            error = subscribe ? SubscribeAll(socket, channels) : null;
            if (!subscribe)
            {
                foreach (string channel in channels)
                {
                    int id = _runtime.Channels.Find(channel);
                    if (id >= 0)
                    {
                        socket.RemoveChannel(id);
                    }
                }
            }
        }

        if (!packet.HasAckId)
        {
            return;
        }

        PooledBufferWriter scratch = Scratch;
        SocketIOPacketWriter.WriteHeader(scratch, SocketIOPacketType.Ack, packet.Namespace, packet.AckId);
        using (var json = new Utf8JsonWriter((IBufferWriter<byte>)scratch))
        {
            json.WriteStartArray();
            json.WriteStartObject();
            if (error is null)
            {
                json.WriteBoolean("ok", true);
                json.WriteStartArray("channels");
                foreach (string name in socket.ChannelNames)
                {
                    json.WriteStringValue(name);
                }

                json.WriteEndArray();
            }
            else
            {
                json.WriteBoolean("ok", false);
                json.WriteString("error", error);
            }

            json.WriteEndObject();
            json.WriteEndArray();
        }

        WriteTextPacketLocked(EngineIOPacketType.Message, scratch.WrittenSpan);
    }
}
