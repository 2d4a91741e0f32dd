using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Protocol;
using Gateway.Protocol.Buffers;
using Gateway.Protocol.WebSockets;

namespace Gateway.Conformance.Tests;

/// <summary>A raw TCP peer: sends hand-built bytes, reads HTTP responses and server WebSocket frames.</summary>
public sealed class RawClient : IDisposable
{
    // How long one read waits for the server: generous, because a loaded machine can be slow; a test waiting for
    // something that never comes fails at this deadline.
    private static readonly TimeSpan Timeout = GatewayServer.Deadline;
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[1 << 20];
    private int _start;
    private int _end;

    private RawClient(Socket socket) => _socket = socket;

    public static async Task<RawClient> ConnectAsync(int port, int receiveBufferSize = 0)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferSize > 0)
        {
            socket.ReceiveBufferSize = receiveBufferSize; // a small window makes a stalled reader back up quickly
        }

        await socket.ConnectAsync(IPAddress.Loopback, port);
        return new RawClient(socket);
    }

    /// <summary>Connects and completes a WebSocket handshake; returns the open packet.</summary>
    public static async Task<(RawClient Client, string Open)> OpenWebSocketAsync(int port, string query = "EIO=4&transport=websocket", int receiveBufferSize = 0)
    {
        RawClient client = await ConnectAsync(port, receiveBufferSize);
        await client.SendAsync($"GET /socket.io/?{query} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        string head = await client.ReadHttpHeadAsync();
        Assert.StartsWith("HTTP/1.1 101", head);
        Assert.Contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", head);
        if (query.Contains("sid=", StringComparison.Ordinal))
        {
            return (client, "");
        }

        Frame open = await client.ReadFrameAsync();
        return (client, open.Text);
    }

    /// <summary>A WebSocket session with a Socket.IO socket on "/" (CONNECT with <paramref name="auth"/>), its reply read.</summary>
    public static async Task<RawClient> JoinAsync(int port, string auth = "", int receiveBufferSize = 0)
    {
        (RawClient client, _) = await OpenWebSocketAsync(port, receiveBufferSize: receiveBufferSize);
        await client.SendTextAsync("40" + auth);
        Assert.StartsWith("40{\"sid\"", (await client.ReadNonPingFrameAsync()).Text);
        return client;
    }

    public Task SendAsync(string ascii) => SendAsync(Encoding.UTF8.GetBytes(ascii));

    public async Task SendAsync(byte[] bytes) => await _socket.SendAsync(bytes);

    /// <summary>A masked client frame (mask key fixed so tests are reproducible).</summary>
    public static byte[] ClientFrame(WebSocketOpcode opcode, ReadOnlySpan<byte> payload, bool fin = true, byte rsv = 0, bool mask = true)
    {
        var writer = new PooledBufferWriter(64);
        uint? key = mask ? 0x3D21FA37u : null;
        WebSocketFrameHeader.Write(writer, opcode, fin, payload.Length, key);
        byte[] frame = new byte[writer.WrittenCount + payload.Length];
        writer.WrittenSpan.CopyTo(frame);
        frame[0] |= rsv;
        payload.CopyTo(frame.AsSpan(writer.WrittenCount));
        if (mask)
        {
            WebSocketMask.Apply(frame.AsSpan(writer.WrittenCount), key!.Value, 0);
        }

        writer.Dispose();
        return frame;
    }

    public Task SendTextAsync(string text, bool fin = true, WebSocketOpcode opcode = WebSocketOpcode.Text) =>
        SendAsync(ClientFrame(opcode, Encoding.UTF8.GetBytes(text), fin));

    private async Task<bool> FillAsync()
    {
        if (_start > 0 && _start == _end)
        {
            _start = _end = 0;
        }

        using var cts = new CancellationTokenSource(Timeout);
        int read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cts.Token);
        _end += read;
        return read > 0;
    }

    public async Task<string> ReadHttpHeadAsync()
    {
        while (true)
        {
            int index = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
            if (index >= 0)
            {
                string head = Encoding.ASCII.GetString(_buffer, _start, index + 4);
                _start += index + 4;
                return head;
            }

            if (!await FillAsync())
            {
                throw new IOException("closed before the response head");
            }
        }
    }

    /// <summary>Reads a whole HTTP response (Content-Length bodies).</summary>
    public async Task<(int Status, string Head, string Body)> ReadHttpResponseAsync()
    {
        string head = await ReadHttpHeadAsync();
        int status = int.Parse(head.AsSpan(9, 3));
        int length = 0;
        foreach (string line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                length = int.Parse(line.AsSpan(15).Trim());
            }
        }

        while (_end - _start < length)
        {
            if (!await FillAsync())
            {
                throw new IOException("closed before the response body");
            }
        }

        string body = Encoding.UTF8.GetString(_buffer, _start, length);
        _start += length;
        return (status, head, body);
    }

    public readonly record struct Frame(WebSocketOpcode Opcode, byte[] Payload)
    {
        public string Text => Encoding.UTF8.GetString(Payload);

        public ushort CloseCode => Payload.Length >= 2 ? (ushort)((Payload[0] << 8) | Payload[1]) : (ushort)1005;
    }

    public async Task<Frame> ReadFrameAsync()
    {
        while (true)
        {
            ReadOnlySpan<byte> data = _buffer.AsSpan(_start, _end - _start);
            OperationStatus status = WebSocketFrameHeader.TryRead(data, requireMask: false, out WebSocketFrameHeader header, out ProtocolError error);
            Assert.NotEqual(OperationStatus.InvalidData, status);
            if (status == OperationStatus.Done && data.Length >= header.HeaderLength + header.PayloadLength)
            {
                byte[] payload = data.Slice(header.HeaderLength, (int)header.PayloadLength).ToArray();
                _start += header.HeaderLength + (int)header.PayloadLength;
                return new Frame(header.Opcode, payload);
            }

            if (!await FillAsync())
            {
                throw new IOException("closed before a frame");
            }
        }
    }

    /// <summary>Reads frames until one that is not an Engine.IO ping.</summary>
    public async Task<Frame> ReadNonPingFrameAsync()
    {
        while (true)
        {
            Frame frame = await ReadFrameAsync();
            if (!(frame.Opcode == WebSocketOpcode.Text && frame.Text == "2"))
            {
                return frame;
            }

            await SendTextAsync("3");
        }
    }

    /// <summary>Reads until the server's close frame; returns its code.</summary>
    public async Task<ushort> ReadCloseAsync()
    {
        while (true)
        {
            Frame frame = await ReadFrameAsync();
            if (frame.Opcode == WebSocketOpcode.Close)
            {
                return frame.CloseCode;
            }
        }
    }

    /// <summary>True when the server closes the TCP connection within the timeout.</summary>
    public async Task<bool> WaitForEndAsync()
    {
        try
        {
            while (await FillAsync())
            {
                _start = _end;
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose() => _socket.Dispose();
}
