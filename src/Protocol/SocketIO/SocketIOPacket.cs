namespace Gateway.Protocol.SocketIO;

/// <summary>
/// A parsed Socket.IO v5 packet: <c>&lt;type&gt;[&lt;attachments&gt;-][&lt;nsp&gt;,][&lt;ack id&gt;][&lt;JSON&gt;]</c>, for example
/// <c>2/chat,12["message","hi"]</c> or <c>51-["file",{"_placeholder":true,"num":0}]</c>. Spans point into the input.
/// </summary>
public readonly ref struct SocketIOPacket
{
    public SocketIOPacketType Type { get; init; }

    /// <summary>Binary attachments that follow as separate Engine.IO messages (BINARY_EVENT / BINARY_ACK only).</summary>
    public int Attachments { get; init; }

    /// <summary>The namespace, <c>/</c> when the packet names none.</summary>
    public ReadOnlySpan<byte> Namespace { get; init; }

    /// <summary>The ack id, or -1.</summary>
    public long AckId { get; init; }

    /// <summary>The raw JSON payload (empty when absent), already checked for validity and shape.</summary>
    public ReadOnlySpan<byte> Payload { get; init; }

    /// <summary>For events: the event name as it appears between the quotes (escapes not decoded).</summary>
    public ReadOnlySpan<byte> EventName { get; init; }

    /// <summary>True when <see cref="EventName"/> holds JSON escapes and must be unescaped before comparing.</summary>
    public bool EventNameEscaped { get; init; }

    /// <summary>
    /// For events: the arguments after the name, as the inner part of a JSON array (<c>1,"2"</c> for
    /// <c>["ev",1,"2"]</c>; empty when there are none).
    /// </summary>
    public ReadOnlySpan<byte> EventArguments { get; init; }

    public bool HasAckId => AckId >= 0;

    public bool IsBinary => Type is SocketIOPacketType.BinaryEvent or SocketIOPacketType.BinaryAck;

    public bool IsEvent => Type is SocketIOPacketType.Event or SocketIOPacketType.BinaryEvent;

    public bool IsAck => Type is SocketIOPacketType.Ack or SocketIOPacketType.BinaryAck;
}
