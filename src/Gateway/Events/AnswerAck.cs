using Gateway.Answers;
using Gateway.Protocol.Buffers;
using Gateway.Protocol.SocketIO;

namespace Gateway.Events;

/// <summary>The ack of an <c>answer</c>: <c>[{"ok":true}]</c>, or <c>[{"ok":false,"error":"…"}]</c> with the refusal's wire text.</summary>
internal static class AnswerAck
{
    public static void Write(PooledBufferWriter packet, ReadOnlySpan<byte> nsp, long ackId, AnswerRefusal refusal)
    {
        SocketIOPacketWriter.WriteHeader(packet, SocketIOPacketType.Ack, nsp, ackId);
        if (refusal == AnswerRefusal.None)
        {
            packet.WriteBytes("[{\"ok\":true}]"u8);
        }
        else
        {
            packet.WriteBytes("[{\"ok\":false,\"error\":\""u8);
            packet.WriteBytes(AnswerRefusals.WireText(refusal));
            packet.WriteBytes("\"}]"u8);
        }
    }
}
