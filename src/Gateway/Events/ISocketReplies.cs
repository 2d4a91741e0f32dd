using Gateway.Answers;
using Gateway.SocketIO;

namespace Gateway.Events;

/// <summary>
/// What an application event handler may do back to the client, implemented by the Engine.IO session. Every call is
/// made under the session's lock, from within the session's dispatch (or, for answers, from its acknowledgement).
/// </summary>
internal interface ISocketReplies : IAnswerAcknowledger
{
    /// <summary>Queues one Socket.IO packet, then its binary attachments (if any), on the session's transport.</summary>
    void Send(ReadOnlySpan<byte> socketIOPacket, List<byte[]>? attachments = null);

    /// <summary>Queues the current prompts (late-join cache) of channels the socket has just joined.</summary>
    void SendCurrentPrompts(NamespaceSocket socket, List<long> channelIds);
}
