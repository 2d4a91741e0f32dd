using Gateway.Diagnostics;
using Gateway.Protocol.SocketIO;
using Gateway.SocketIO;

namespace Gateway.Events;

/// <summary>
/// The application's side of Socket.IO: what a client's EVENT and ACK packets do, once the session's dispatch has
/// found their namespace socket. One per gateway; handlers keep no per-socket state beyond the socket's own.
/// </summary>
internal sealed class ApplicationEvents(PromptEvents prompts, DiagnosticEvents diagnostics, GatewayMetrics metrics)
{
    public PromptEvents Prompts => prompts;

    /// <summary>An EVENT or BINARY_EVENT (attachments complete). Unknown names are counted and ignored, as socket.io does.</summary>
    public void OnEvent(ISocketReplies replies, NamespaceSocket socket, in SocketIOPacket packet, List<byte[]>? attachments)
    {
        ReadOnlySpan<byte> name = packet.EventNameEscaped ? default : packet.EventName;
        if (!prompts.TryHandle(replies, socket, packet, name) && !diagnostics.TryHandle(replies, socket, packet, name, attachments))
        {
            metrics.UnknownEvent();
        }
    }

    /// <summary>An ACK or BINARY_ACK from the client.</summary>
    public static void OnAck(ISocketReplies replies, NamespaceSocket socket, in SocketIOPacket packet, List<byte[]>? attachments) =>
        DiagnosticEvents.OnAck(replies, socket, packet, attachments);
}
