using System.Buffers;
using Gateway.Protocol.Buffers;

namespace Gateway.Protocol.SocketIO;

/// <summary>
/// Writes Socket.IO v5 packets in socket.io-parser's encoding: type digit, <c>N-</c> for binary packets, the namespace
/// followed by <c>,</c> unless it is <c>/</c>, the ack id, then the JSON payload. The reader is
/// <see cref="SocketIOPacketParser"/>.
/// </summary>
public static class SocketIOPacketWriter
{
    /// <summary>Appends everything before the payload.</summary>
    public static void WriteHeader(IBufferWriter<byte> writer, SocketIOPacketType type, ReadOnlySpan<byte> nsp, long ackId = -1, int attachments = 0)
    {
        writer.WriteByte((byte)('0' + (byte)type));
        if (type is SocketIOPacketType.BinaryEvent or SocketIOPacketType.BinaryAck)
        {
            writer.WriteInt64(attachments);
            writer.WriteByte((byte)'-');
        }

        if (!nsp.IsEmpty && !(nsp.Length == 1 && nsp[0] == (byte)'/'))
        {
            writer.WriteBytes(nsp);
            writer.WriteByte((byte)',');
        }

        if (ackId >= 0)
        {
            writer.WriteInt64(ackId);
        }
    }

    /// <summary>Appends a whole packet whose payload is already JSON.</summary>
    public static void Write(IBufferWriter<byte> writer, SocketIOPacketType type, ReadOnlySpan<byte> nsp, ReadOnlySpan<byte> jsonPayload, long ackId = -1, int attachments = 0)
    {
        WriteHeader(writer, type, nsp, ackId, attachments);
        writer.WriteBytes(jsonPayload);
    }

    /// <summary>Appends an event <c>2["name",args…]</c> from an event name (plain ASCII/UTF-8, no escaping needed) and raw JSON arguments.</summary>
    public static void WriteEvent(IBufferWriter<byte> writer, ReadOnlySpan<byte> nsp, ReadOnlySpan<byte> eventName, ReadOnlySpan<byte> argumentsInner, long ackId = -1, int attachments = 0)
    {
        WriteHeader(writer, attachments > 0 ? SocketIOPacketType.BinaryEvent : SocketIOPacketType.Event, nsp, ackId, attachments);
        writer.WriteBytes("[\""u8);
        writer.WriteBytes(eventName);
        writer.WriteByte((byte)'"');
        if (!argumentsInner.IsEmpty)
        {
            writer.WriteByte((byte)',');
            writer.WriteBytes(argumentsInner);
        }

        writer.WriteByte((byte)']');
    }

    /// <summary>Appends an ack <c>3id[args…]</c> from the inner part of the argument array.</summary>
    public static void WriteAck(IBufferWriter<byte> writer, ReadOnlySpan<byte> nsp, long ackId, ReadOnlySpan<byte> argumentsInner, int attachments = 0)
    {
        WriteHeader(writer, attachments > 0 ? SocketIOPacketType.BinaryAck : SocketIOPacketType.Ack, nsp, ackId, attachments);
        writer.WriteByte((byte)'[');
        writer.WriteBytes(argumentsInner);
        writer.WriteByte((byte)']');
    }
}
