namespace Gateway.Protocol.Http;

/// <summary>
/// The parts of an HTTP/1.1 request head the gateway uses. Spans point into the parsed buffer; header values are
/// trimmed of surrounding whitespace.
/// </summary>
public ref struct HttpRequestHead
{
    /// <summary>Bytes of the head including the final empty line.</summary>
    public int Length;
    public HttpMethod Method;
    public ReadOnlySpan<byte> MethodText;
    /// <summary>The request target before <c>?</c>.</summary>
    public ReadOnlySpan<byte> Path;
    /// <summary>The query string after <c>?</c> (without it), empty when none.</summary>
    public ReadOnlySpan<byte> Query;
    /// <summary>True for HTTP/1.1, false for HTTP/1.0.</summary>
    public bool IsHttp11;

    public ReadOnlySpan<byte> Host;
    public ReadOnlySpan<byte> Connection;
    public ReadOnlySpan<byte> Upgrade;
    public ReadOnlySpan<byte> Origin;
    public ReadOnlySpan<byte> SecWebSocketKey;
    public ReadOnlySpan<byte> SecWebSocketVersion;
    public ReadOnlySpan<byte> TransferEncoding;
    public ReadOnlySpan<byte> AccessControlRequestHeaders;
    public ReadOnlySpan<byte> ContentType;
    /// <summary>-1 when absent.</summary>
    public long ContentLength;
    public int HeaderCount;

    /// <summary>HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only with keep-alive.</summary>
    public readonly bool KeepAlive =>
        IsHttp11 ? !HttpRequestParser.ContainsToken(Connection, "close"u8) : HttpRequestParser.ContainsToken(Connection, "keep-alive"u8);

    /// <summary>A WebSocket opening handshake: <c>Upgrade: websocket</c> with <c>Connection: Upgrade</c>.</summary>
    public readonly bool IsWebSocketUpgrade =>
        HttpRequestParser.ContainsToken(Upgrade, "websocket"u8) && HttpRequestParser.ContainsToken(Connection, "upgrade"u8);
}
