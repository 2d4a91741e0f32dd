namespace Gateway.Protocol;

/// <summary>Why a codec refused its input. Each value maps to exactly one protocol answer in the gateway.</summary>
public enum ProtocolError : byte
{
    None = 0,

    // RFC 6455 framing (close 1002 unless noted).
    ReservedBitsSet,
    UnknownOpcode,
    ControlFrameTooLong,
    ControlFrameFragmented,
    PayloadLengthTopBitSet,
    UnmaskedClientFrame,
    MaskedServerFrame,
    UnexpectedContinuation,
    ExpectedContinuation,
    InvalidClosePayload,
    InvalidCloseCode,
    /// <summary>
    /// Text not valid: a text message or close reason not UTF-8, or a Socket.IO packet's JSON not UTF-8 or holding an
    /// escaped lone surrogate (close 1007; HTTP 400 on polling).
    /// </summary>
    InvalidUtf8,
    /// <summary>Message larger than the configured maximum (close 1009 / HTTP 413).</summary>
    MessageTooBig,

    // Engine.IO.
    InvalidEngineIOPacketType,
    EmptyEngineIOPacket,
    InvalidBase64,

    // Socket.IO.
    InvalidSocketIOPacketType,
    InvalidAttachments,
    InvalidAckId,
    InvalidNamespace,
    InvalidPayload,

    // HTTP/1.1 request head (HTTP 400).
    InvalidRequestLine,
    InvalidHeader,
    RequestHeadTooLarge,
    TooManyHeaders,
    InvalidContentLength,
    UnsupportedHttpVersion,
}
