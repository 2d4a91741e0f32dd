namespace Gateway.Protocol.WebSockets;

/// <summary>RFC 6455 §7.4.1 status codes the gateway sends, and the validity rule for received ones.</summary>
public static class WebSocketCloseCode
{
    public const ushort NormalClosure = 1000;
    public const ushort GoingAway = 1001;
    public const ushort ProtocolError = 1002;
    public const ushort UnsupportedData = 1003;
    public const ushort InvalidPayloadData = 1007;
    public const ushort PolicyViolation = 1008;
    public const ushort MessageTooBig = 1009;
    public const ushort InternalError = 1011;

    /// <summary>
    /// Codes a peer may put on the wire: 1000–1014 except 1004–1006 (reserved / never sent), and 3000–4999
    /// (registered and private use). Same rule as the `ws` library that socket.io runs on.
    /// </summary>
    public static bool IsValidOnWire(ushort code) =>
        (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006) ||
        (code >= 3000 && code <= 4999);

    /// <summary>The close code the gateway answers a codec error with.</summary>
    public static ushort ForError(Gateway.Protocol.ProtocolError error) => error switch
    {
        Gateway.Protocol.ProtocolError.InvalidUtf8 => InvalidPayloadData,
        Gateway.Protocol.ProtocolError.MessageTooBig => MessageTooBig,
        _ => ProtocolError,
    };
}
