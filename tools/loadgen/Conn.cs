using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Gateway.Protocol;
using Gateway.Protocol.WebSockets;

namespace Gateway.LoadGen;

/// <summary>Why a session ended, as counted in the report.</summary>
public sealed class ClientException(string kind, string message) : Exception(message)
{
    public string Kind { get; } = kind;
}

/// <summary>
/// One TCP connection of a virtual client: a raw <see cref="Socket"/> and a receive buffer that only exists while
/// bytes are pending. Idle connections wait on a zero-byte receive, so 19,000 idle sockets hold no buffers.
/// </summary>
public sealed class Conn : IDisposable
{
    private const int ChunkSize = 4096;
    private readonly Socket _socket;
    private byte[]? _buf;
    private int _start;
    private int _end;
    private bool _disposed;

    private Conn(Socket socket) => _socket = socket;

    public static async Task<Conn> OpenAsync(IPEndPoint target, IPAddress? source)
    {
        var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            // Small kernel buffers: the messages are small and there are many sockets.
            socket.ReceiveBufferSize = 16 * 1024;
            socket.SendBufferSize = 16 * 1024;
            if (source is not null)
            {
                socket.Bind(new IPEndPoint(source, 0));
            }

            await socket.ConnectAsync(target).ConfigureAwait(false);
            return new Conn(socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ClientException(e.SocketErrorCode == SocketError.ConnectionRefused ? "refused" : "connect-" + e.SocketErrorCode.ToString().ToLowerInvariant(), e.Message);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends the bytes synchronously: frames are small, and one lock-free call keeps them whole.</summary>
    public void Send(ReadOnlySpan<byte> data)
    {
        try
        {
            while (!data.IsEmpty)
            {
                int n = _socket.Send(data);
                data = data.Slice(n);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            throw new ClientException("closed", "send failed: " + e.Message);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            _socket.Dispose();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Buffered bytes not consumed yet.</summary>
    private ReadOnlySpan<byte> Pending => _buf is null ? default : _buf.AsSpan(_start, _end - _start);

    private void Consume(int count)
    {
        _start += count;
        if (_start == _end && _buf is not null)
        {
            ArrayPool<byte>.Shared.Return(_buf);
            _buf = null;
            _start = _end = 0;
        }
    }

    // Reads more bytes: a zero-byte receive first so no buffer is held while the socket is idle. The pooling
    // builder reuses the state machine, so a message costs no garbage here.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FillAsync()
    {
        if (_buf is null)
        {
            int zero;
            try
            {
                zero = await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                throw new ClientException("closed", "receive failed: " + e.Message);
            }

            _buf = ArrayPool<byte>.Shared.Rent(ChunkSize);
            _start = _end = 0;
        }
        else if (_end == _buf.Length)
        {
            int live = _end - _start;
            byte[] next = live * 2 > _buf.Length ? ArrayPool<byte>.Shared.Rent(_buf.Length * 2) : _buf;
            _buf.AsSpan(_start, live).CopyTo(next);
            if (next != _buf)
            {
                ArrayPool<byte>.Shared.Return(_buf);
            }

            _buf = next;
            _start = 0;
            _end = live;
        }

        int n;
        try
        {
            n = await _socket.ReceiveAsync(_buf.AsMemory(_end), SocketFlags.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            throw new ClientException("closed", "receive failed: " + e.Message);
        }

        if (n == 0)
        {
            throw new ClientException("closed", "connection closed by peer");
        }

        _end += n;
    }

    /// <summary>Reads an HTTP/1.1 response with a Content-Length body (engine.io never chunks its polling answers).</summary>
    public async Task<HttpResponse> ReadHttpResponseAsync(bool headOnly = false)
    {
        while (true)
        {
            int headEnd = Pending.IndexOf("\r\n\r\n"u8);
            if (headEnd >= 0)
            {
                HttpResponse response = HttpResponse.ParseHead(Pending.Slice(0, headEnd + 4));
                Consume(headEnd + 4);
                if (headOnly || response.Status == 101)
                {
                    return response;
                }

                if (response.ContentLength < 0)
                {
                    if (response.Chunked)
                    {
                        response.Body = await ReadChunkedAsync().ConfigureAwait(false);
                        return response;
                    }

                    throw new ClientException("protocol", "response without Content-Length");
                }

                while (Pending.Length < response.ContentLength)
                {
                    await FillAsync().ConfigureAwait(false);
                }

                response.Body = Pending.Slice(0, (int)response.ContentLength).ToArray();
                Consume((int)response.ContentLength);
                return response;
            }

            if (Pending.Length > 16 * 1024)
            {
                throw new ClientException("protocol", "response head too large");
            }

            await FillAsync().ConfigureAwait(false);
        }
    }

    private async Task<byte[]> ReadChunkedAsync()
    {
        var body = new MemoryStream();
        while (true)
        {
            int lineEnd;
            while ((lineEnd = Pending.IndexOf("\r\n"u8)) < 0)
            {
                await FillAsync().ConfigureAwait(false);
            }

            ReadOnlySpan<byte> line = Pending.Slice(0, lineEnd);
            int semi = line.IndexOf((byte)';');
            if (!Utf8Parser.TryParse(semi < 0 ? line : line.Slice(0, semi), out int size, out _, 'x'))
            {
                throw new ClientException("protocol", "bad chunk size");
            }

            Consume(lineEnd + 2);
            while (Pending.Length < size + 2)
            {
                await FillAsync().ConfigureAwait(false);
            }

            body.Write(Pending.Slice(0, size));
            Consume(size + 2);
            if (size == 0)
            {
                return body.ToArray();
            }
        }
    }

    /// <summary>
    /// Reads one whole WebSocket message from a server (unmasked frames; control frames are returned as they come).
    /// The payload array is exact-size.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<(WebSocketOpcode Opcode, byte[] Payload)> ReadMessageAsync()
    {
        byte[]? message = null;
        WebSocketOpcode messageOpcode = default;
        while (true)
        {
            OperationStatus status;
            WebSocketFrameHeader header;
            while ((status = WebSocketFrameHeader.TryRead(Pending, requireMask: false, out header, out ProtocolError error)) != OperationStatus.Done)
            {
                if (status == OperationStatus.InvalidData)
                {
                    throw new ClientException("protocol", "websocket frame: " + error);
                }

                await FillAsync().ConfigureAwait(false);
            }

            if (header.PayloadLength > 64 * 1024 * 1024)
            {
                throw new ClientException("protocol", "websocket frame too large");
            }

            int total = header.HeaderLength + (int)header.PayloadLength;
            while (Pending.Length < total)
            {
                await FillAsync().ConfigureAwait(false);
            }

            byte[] payload = Pending.Slice(header.HeaderLength, (int)header.PayloadLength).ToArray();
            Consume(total);
            if (header.IsControl)
            {
                return (header.Opcode, payload);
            }

            if (header.Opcode != WebSocketOpcode.Continuation)
            {
                messageOpcode = header.Opcode;
                message = payload;
            }
            else
            {
                message = message is null ? payload : [.. message, .. payload];
            }

            if (header.Fin)
            {
                return (messageOpcode, message ?? []);
            }
        }
    }

    /// <summary>Sends one masked client frame, as RFC 6455 §5.3 requires of clients.</summary>
    public void SendFrame(WebSocketOpcode opcode, ReadOnlySpan<byte> payload)
    {
        int headerLength = WebSocketFrameHeader.GetHeaderLength(payload.Length, masked: true);
        int length = headerLength + payload.Length;
        byte[]? rented = length > 512 ? ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> frame = rented is null ? stackalloc byte[length] : rented.AsSpan(0, length);
        uint key = (uint)Random.Shared.Next() ^ ((uint)Random.Shared.Next() << 1);
        WebSocketFrameHeader.Write(frame, opcode, fin: true, payload.Length, key);
        payload.CopyTo(frame.Slice(headerLength));
        WebSocketMask.Apply(frame.Slice(headerLength), key, 0);
        lock (this)
        {
            Send(frame);
        }

        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public static string HostHeader(IPEndPoint target) => target.Address.IsIPv4MappedToIPv6 || target.AddressFamily == AddressFamily.InterNetwork
        ? $"{target.Address}:{target.Port}"
        : $"[{target.Address}]:{target.Port}";

    public static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);
}

/// <summary>The parts of an HTTP response head the client needs, and the body.</summary>
public sealed class HttpResponse
{
    public int Status { get; set; }

    public long ContentLength { get; set; } = -1;

    public bool Chunked { get; set; }

    public bool Close { get; set; }

    public string? SecWebSocketAccept { get; set; }

    /// <summary>A <c>Retry-After</c> header was present (any value).</summary>
    public bool HasRetryAfter { get; set; }

    public byte[] Body { get; set; } = [];

    public static HttpResponse ParseHead(ReadOnlySpan<byte> head)
    {
        // HTTP/1.1 200 OK
        if (head.Length < 12 || !head.StartsWith("HTTP/1."u8) || head[8] != (byte)' ' || !Utf8Parser.TryParse(head.Slice(9, 3), out int status, out int used) || used != 3)
        {
            throw new ClientException("protocol", "bad status line");
        }

        var response = new HttpResponse { Status = status };
        int lineStart = head.IndexOf("\r\n"u8) + 2;
        while (lineStart < head.Length)
        {
            int len = head.Slice(lineStart).IndexOf("\r\n"u8);
            if (len <= 0)
            {
                break;
            }

            ReadOnlySpan<byte> line = head.Slice(lineStart, len);
            lineStart += len + 2;
            int colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                throw new ClientException("protocol", "bad header line");
            }

            ReadOnlySpan<byte> name = line.Slice(0, colon);
            ReadOnlySpan<byte> value = line.Slice(colon + 1).Trim((byte)' ');
            if (System.Text.Ascii.EqualsIgnoreCase(name, "Content-Length"u8) && Utf8Parser.TryParse(value, out long cl, out _))
            {
                response.ContentLength = cl;
            }
            else if (System.Text.Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                response.Chunked = value.IndexOf("chunked"u8) >= 0;
            }
            else if (System.Text.Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                response.Close = System.Text.Ascii.EqualsIgnoreCase(value, "close"u8);
            }
            else if (System.Text.Ascii.EqualsIgnoreCase(name, "Retry-After"u8))
            {
                response.HasRetryAfter = !value.IsEmpty;
            }
            else if (System.Text.Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Accept"u8))
            {
                response.SecWebSocketAccept = Encoding.ASCII.GetString(value);
            }
        }

        return response;
    }
}
