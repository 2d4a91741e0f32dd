using System.Buffers;
using System.IO.Pipelines;
using Gateway.EngineIO;
using Gateway.Output;
using Gateway.Protocol.Buffers;
using Microsoft.AspNetCore.Connections;

namespace Gateway.Transport;

/// <summary>
/// One TCP connection speaking HTTP/1.1 (polling requests, or the handshake before a WebSocket upgrade). Responses
/// may be written by another thread (a session answering a parked poll), so every write holds this object's lock.
/// </summary>
internal sealed class HttpConnection : IPollingRequest, IOutputOwner
{
    public HttpConnection(ConnectionContext context)
    {
        Context = context;
        Output = new ConnectionOutput(context.Transport.Output, this);
    }

    public ConnectionContext Context { get; }

    /// <summary>The connection's output, passed on to the WebSocket probe and the session after an upgrade.</summary>
    public ConnectionOutput Output { get; }

    /// <summary>The session whose GET this connection holds, if any.</summary>
    public EngineSession? ParkedFor { get; set; }

    /// <summary>The session whose POST this connection is receiving (head read, body not yet complete), if any.</summary>
    public EngineSession? DataFor { get; set; }

    /// <summary>Whether the request being answered keeps the connection.</summary>
    public bool KeepAlive { get; set; } = true;

    /// <summary>Access-Control-Allow-Origin value for the current request, or null (no CORS headers).</summary>
    public byte[]? AllowedOrigin { get; set; }

    public bool AllowCredentials { get; set; }

    /// <summary>Set once a response said "Connection: close": the read loop stops.</summary>
    public bool CloseAfterResponse { get; private set; }

    private static ReadOnlySpan<byte> StatusText(int status) => status switch
    {
        101 => "101 Switching Protocols"u8,
        200 => "200 OK"u8,
        204 => "204 No Content"u8,
        301 => "301 Moved Permanently"u8,
        400 => "400 Bad Request"u8,
        403 => "403 Forbidden"u8,
        404 => "404 Not Found"u8,
        405 => "405 Method Not Allowed"u8,
        413 => "413 Payload Too Large"u8,
        431 => "431 Request Header Fields Too Large"u8,
        500 => "500 Internal Server Error"u8,
        503 => "503 Service Unavailable"u8,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "no reason phrase for this status"),
    };

    /// <summary>Writes a complete response and flushes it.</summary>
    public void Respond(int status, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body, ReadOnlySpan<byte> extraHeaders = default) =>
        Respond(status, contentType, body, extraHeaders, headOnly: false);

    /// <summary>Writes a complete response and flushes it; <paramref name="headOnly"/>: the answer to a HEAD (no body).</summary>
    public void Respond(int status, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body, ReadOnlySpan<byte> extraHeaders, bool headOnly)
    {
        lock (this)
        {
            WriteHead(status, contentType, body.Length, extraHeaders);
            if (!body.IsEmpty && !headOnly)
            {
                Output.Writer.Write(body);
            }

            Output.Flush();
        }
    }

    private void WriteHead(int status, ReadOnlySpan<byte> contentType, int contentLength, ReadOnlySpan<byte> extraHeaders)
    {
        PipeWriter w = Output.Writer;
        w.WriteBytes("HTTP/1.1 "u8);
        w.WriteBytes(StatusText(status));
        w.WriteBytes("\r\n"u8);
        if (!contentType.IsEmpty)
        {
            w.WriteBytes("Content-Type: "u8);
            w.WriteBytes(contentType);
            w.WriteBytes("\r\n"u8);
        }

        w.WriteBytes("Content-Length: "u8);
        w.WriteInt64(contentLength);
        w.WriteBytes("\r\n"u8);
        if (AllowedOrigin is not null)
        {
            w.WriteBytes("Access-Control-Allow-Origin: "u8);
            w.WriteBytes(AllowedOrigin);
            w.WriteBytes("\r\nVary: Origin\r\n"u8);
            if (AllowCredentials)
            {
                w.WriteBytes("Access-Control-Allow-Credentials: true\r\n"u8);
            }
        }

        w.WriteBytes(extraHeaders);
        if (!KeepAlive || status >= 400)
        {
            // Errors end the connection: the rest of the request may not have been read.
            w.WriteBytes("Connection: close\r\n"u8);
            CloseAfterResponse = true;
        }
        else
        {
            w.WriteBytes("Connection: keep-alive\r\n"u8);
        }

        w.WriteBytes("\r\n"u8);
    }

    /// <summary>Ends the connection without an answer to the request in progress (its read loop stops).</summary>
    public void Abort() => Context.Transport.Input.CancelPendingRead();

    /// <summary>Writes raw bytes (the 101 response, or an upgrade refusal) and flushes.</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes, bool close)
    {
        lock (this)
        {
            Output.Writer.Write(bytes);
            CloseAfterResponse |= close;
            Output.Flush();
        }
    }

    /// <summary>A response's flush completed: send what was written meanwhile (a peer gone is the read loop's to see).</summary>
    void IOutputOwner.OnOutputFlushed(ConnectionOutput output)
    {
        lock (this)
        {
            if (output.EndFlush() == OutputState.Done)
            {
                output.Flush();
            }
        }
    }
}
