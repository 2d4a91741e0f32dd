using Gateway.Protocol.Buffers;
using Gateway.Protocol.SocketIO;
using Gateway.SocketIO;

namespace Gateway.Events;

/// <summary>
/// Events for testing clients against the gateway, on only with <c>Gateway:Diagnostics:Echo</c>: <c>echo</c> (the
/// same event back, its ack relayed both ways), <c>ack</c> (acks with the event's own arguments), <c>auth</c> (acks
/// with the CONNECT auth payload).
/// </summary>
internal sealed class DiagnosticEvents(bool enabled)
{
    /// <summary>Handles the event if diagnostics are on and it is one of these; false otherwise.</summary>
    public bool TryHandle(ISocketReplies replies, NamespaceSocket socket, in SocketIOPacket packet, ReadOnlySpan<byte> name, List<byte[]>? attachments)
    {
        if (!enabled)
        {
            return false;
        }

        if (name.SequenceEqual("echo"u8))
        {
            // Emit the same event back; with an ack id, ask the client for an ack and relay it to the original call.
            long serverAckId = packet.HasAckId ? socket.AddRelay(packet.AckId) : -1;
            PooledBufferWriter scratch = PacketScratch.Get();
            SocketIOPacketWriter.WriteHeader(scratch, packet.Type, packet.Namespace, serverAckId, packet.Attachments);
            scratch.WriteBytes(packet.Payload);
            replies.Send(scratch.WrittenSpan, attachments);
        }
        else if (name.SequenceEqual("ack"u8))
        {
            if (packet.HasAckId)
            {
                PooledBufferWriter scratch = PacketScratch.Get();
                SocketIOPacketWriter.WriteAck(scratch, packet.Namespace, packet.AckId, packet.EventArguments, attachments?.Count ?? 0);
                replies.Send(scratch.WrittenSpan, attachments);
            }
        }
        else if (name.SequenceEqual("auth"u8))
        {
            if (packet.HasAckId)
            {
                PooledBufferWriter scratch = PacketScratch.Get();
                SocketIOPacketWriter.WriteAck(scratch, packet.Namespace, packet.AckId, socket.Auth ?? "{}"u8.ToArray());
                replies.Send(scratch.WrittenSpan);
            }
        }
        else
        {
            return false;
        }

        return true;
    }

    /// <summary>A client's ACK: the answer to an <c>echo</c> the gateway relayed, passed on to the original caller.</summary>
    public static void OnAck(ISocketReplies replies, NamespaceSocket socket, in SocketIOPacket packet, List<byte[]>? attachments)
    {
        long clientAckId = socket.TakeRelay(packet.AckId);
        if (clientAckId < 0)
        {
            return; // an ack we did not ask for (or gave up on): ignored, as socket.io does
        }

        PooledBufferWriter scratch = PacketScratch.Get();
        SocketIOPacketWriter.WriteHeader(scratch, packet.Type, packet.Namespace, clientAckId, packet.Attachments);
        scratch.WriteBytes(packet.Payload);
        replies.Send(scratch.WrittenSpan, attachments);
    }
}
