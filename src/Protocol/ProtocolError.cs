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

    // PROXY protocol header (haproxy doc/proxy-protocol.txt): the connection is closed without an answer.
    /// <summary>The connection does not start with a PROXY v1 or v2 signature.</summary>
    ProxyHeaderMissing,
    /// <summary>v1: no CRLF within the first 107 bytes.</summary>
    ProxyLineTooLong,
    /// <summary>v1: not "PROXY TCP4|TCP6|UNKNOWN …" with single spaces and CRLF (a lone CR or LF included).</summary>
    InvalidProxyLine,
    /// <summary>v1: an address not in its family's canonical text form.</summary>
    InvalidProxyAddress,
    /// <summary>v1: a port that is not 0–65535 without leading zeros.</summary>
    InvalidProxyPort,
    /// <summary>v2: a version nibble other than 2.</summary>
    InvalidProxyVersion,
    /// <summary>v2: a command other than LOCAL or PROXY.</summary>
    InvalidProxyCommand,
    /// <summary>v2: an address family or transport the specification does not define.</summary>
    InvalidProxyFamily,
    /// <summary>v2: a length shorter than the announced family's address block.</summary>
    ProxyAddressTooShort,
    /// <summary>v2: a TLV that runs past the end of the header.</summary>
    InvalidProxyTlv,
}
