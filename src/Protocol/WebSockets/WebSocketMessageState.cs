namespace Gateway.Protocol.WebSockets;

/// <summary>
/// RFC 6455 §5.4 fragmentation rules for one direction of a connection: a data frame starts a message, continuation
/// frames extend it, control frames may interleave. Also tracks the message size against a limit and validates
/// UTF-8 for text messages.
/// </summary>
public struct WebSocketMessageState
{
    private Utf8MessageValidator _utf8;
    private long _messageLength;
    private bool _inMessage;

    /// <summary>Opcode of the message in progress (Text or Binary).</summary>
    public WebSocketOpcode MessageOpcode { get; private set; }

    public readonly bool InMessage => _inMessage;

    public readonly long MessageLength => _messageLength;

    /// <summary>Checks a data or continuation frame header against the message in progress and the size limit.</summary>
    public ProtocolError OnDataFrame(in WebSocketFrameHeader header, long maxMessageLength)
    {
        if (header.Opcode == WebSocketOpcode.Continuation)
        {
            if (!_inMessage)
            {
                return ProtocolError.UnexpectedContinuation;
            }
        }
        else
        {
            if (_inMessage)
            {
                return ProtocolError.ExpectedContinuation;
            }

            _inMessage = true;
            _messageLength = 0;
            _utf8.Reset();
            MessageOpcode = header.Opcode;
        }

        // Compare before adding: a 63-bit frame length would wrap a plain sum negative and pass the limit.
        if (header.PayloadLength > maxMessageLength - _messageLength)
        {
            return ProtocolError.MessageTooBig;
        }

        _messageLength += header.PayloadLength;

        return ProtocolError.None;
    }

    /// <summary>Feeds unmasked payload bytes of the current message (validates UTF-8 for text).</summary>
    public ProtocolError OnPayload(ReadOnlySpan<byte> unmasked)
    {
        if (MessageOpcode == WebSocketOpcode.Text && !_utf8.Append(unmasked))
        {
            return ProtocolError.InvalidUtf8;
        }

        return ProtocolError.None;
    }

    /// <summary>Call after the last payload byte of a frame whose FIN bit is set.</summary>
    public ProtocolError OnMessageEnd()
    {
        _inMessage = false;
        if (MessageOpcode == WebSocketOpcode.Text && !_utf8.IsComplete)
        {
            return ProtocolError.InvalidUtf8;
        }

        return ProtocolError.None;
    }
}
