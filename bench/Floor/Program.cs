using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Gateway.Floor;
using Gateway.Protocol.WebSockets;

// The machine's floor for the capacity benchmark: raw sockets, no Kestrel, no protocol beyond what the
// loadgen's websocket clients need. A publish is encoded once and written with blocking Socket.Send by one
// thread per core, each over its own partition of the sockets — the best any server can do here.
int port = 3400, adminPort = 3401, pingInterval = 25000;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    int v = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--port": port = v; break;
        case "--admin-port": adminPort = v; break;
        case "--ping-interval": pingInterval = v; break;
        default: Console.Error.WriteLine($"floor: unknown option {args[i]}"); return 64;
    }
}

var server = new FloorServer(pingInterval);
server.Start(new IPEndPoint(IPAddress.Loopback, port), new IPEndPoint(IPAddress.Loopback, adminPort));
Console.WriteLine(JsonSerializer.Serialize(new { @event = "listening", port, adminPort }));
await Task.Delay(Timeout.Infinite).ConfigureAwait(false);
return 0;

namespace Gateway.Floor
{
    internal sealed class Conn(Socket socket, int id)
    {
        public readonly Socket Socket = socket;
        public readonly int Id = id;
        public volatile bool Open = true;
        public bool Registered;
        public readonly Lock SendLock = new();

        /// <summary>Blocking send of a whole frame; a failure just marks the socket dead.</summary>
        public void Send(ReadOnlySpan<byte> frame)
        {
            if (!Open)
            {
                return;
            }

            lock (SendLock)
            {
                try
                {
                    while (!frame.IsEmpty)
                    {
                        int n = Socket.Send(frame, SocketFlags.None);
                        frame = frame.Slice(n);
                    }
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    Open = false;
                }
            }
        }
    }

    /// <summary>One fan-out thread and the sockets it owns (copy-on-write array: readers never lock).</summary>
    internal sealed class Partition
    {
        private readonly Lock _gate = new();
        private readonly Queue<byte[]> _frames = new();
        private Conn[] _conns = [];

        public Conn[] Conns => Volatile.Read(ref _conns);

        public void Add(Conn c)
        {
            lock (_gate)
            {
                _conns = [.. _conns, c];
            }
        }

        public void Remove(Conn c)
        {
            lock (_gate)
            {
                _conns = Array.FindAll(_conns, x => !ReferenceEquals(x, c));
            }
        }

        public void Enqueue(byte[] frame)
        {
            lock (_frames)
            {
                _frames.Enqueue(frame);
                Monitor.Pulse(_frames);
            }
        }

        public void Run()
        {
            while (true)
            {
                // Frames queued while the last fan-out ran go out together: one Send per socket per batch.
                byte[] frame;
                lock (_frames)
                {
                    while (_frames.Count == 0)
                    {
                        Monitor.Wait(_frames);
                    }

                    frame = _frames.Count == 1 ? _frames.Dequeue() : [.. _frames.SelectMany(f => f)];
                    _frames.Clear();
                }

                foreach (Conn c in Conns)
                {
                    c.Send(frame);
                }
            }
        }
    }

    internal sealed class FloorServer(int pingInterval)
    {
        private readonly Partition[] _partitions = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => new Partition()).ToArray();
        private int _nextId;
        private int _connections;
        private long _sequence;

        private static readonly byte[] PingFrame = Frame("2"u8);

        public void Start(IPEndPoint publicEp, IPEndPoint adminEp)
        {
            foreach (Partition p in _partitions)
            {
                new Thread(p.Run) { IsBackground = true, Name = "fanout" }.Start();
            }

            new Thread(PingLoop) { IsBackground = true, Name = "ping" }.Start();
            _ = AcceptLoop(Listen(publicEp), HandleClientAsync);
            _ = AcceptLoop(Listen(adminEp), HandleAdminAsync);
        }

        private static Socket Listen(IPEndPoint ep)
        {
            var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            s.Bind(ep);
            s.Listen(4096);
            return s;
        }

        private static async Task AcceptLoop(Socket listener, Func<Socket, Task> handler)
        {
            while (true)
            {
                Socket s = await listener.AcceptAsync().ConfigureAwait(false);
                s.NoDelay = true;
                _ = Task.Run(() => handler(s));
            }
        }

        private static byte[] Frame(ReadOnlySpan<byte> payload)
        {
            byte[] f = new byte[WebSocketFrameHeader.GetHeaderLength(payload.Length, false) + payload.Length];
            int h = WebSocketFrameHeader.Write(f, WebSocketOpcode.Text, true, payload.Length);
            payload.CopyTo(f.AsSpan(h));
            return f;
        }

        // Pings spread over the interval: each second, the sockets whose id falls in this second's slot.
        private void PingLoop()
        {
            int slots = Math.Max(1, pingInterval / 1000);
            for (long tick = 0; ; tick++)
            {
                Thread.Sleep(pingInterval / slots);
                int slot = (int)(tick % slots);
                foreach (Partition p in _partitions)
                {
                    foreach (Conn c in p.Conns)
                    {
                        if (c.Id % slots == slot)
                        {
                            c.Send(PingFrame);
                        }
                    }
                }
            }
        }

        private async Task HandleClientAsync(Socket s)
        {
            byte[] buf = ArrayPool<byte>.Shared.Rent(4096);
            int len = 0;
            Conn? conn = null;
            try
            {
                // HTTP upgrade: read the head, answer 101 and the Engine.IO open packet.
                int end;
                while ((end = IndexOf(buf.AsSpan(0, len), "\r\n\r\n"u8)) < 0)
                {
                    int n = await s.ReceiveAsync(buf.AsMemory(len), SocketFlags.None).ConfigureAwait(false);
                    if (n == 0 || len + n >= buf.Length)
                    {
                        return;
                    }

                    len += n;
                }

                string head = Encoding.ASCII.GetString(buf, 0, end);
                string? key = head.Split("\r\n").Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("Sec-WebSocket-Key", StringComparison.OrdinalIgnoreCase)).Select(p => p[1].Trim()).FirstOrDefault();
                if (key is null || !head.StartsWith("GET /socket.io/", StringComparison.Ordinal) || !head.Contains("transport=websocket", StringComparison.Ordinal))
                {
                    await s.SendAsync("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), SocketFlags.None).ConfigureAwait(false);
                    return;
                }

                byte[] accept = new byte[WebSocketHandshake.AcceptKeyLength];
                WebSocketHandshake.ComputeAcceptKey(Encoding.ASCII.GetBytes(key), accept);
                int id = Interlocked.Increment(ref _nextId);
                string sid = id.ToString("x8", CultureInfo.InvariantCulture) + "floorsid0000";
                byte[] open = Frame(Encoding.UTF8.GetBytes($"0{{\"sid\":\"{sid}\",\"upgrades\":[],\"pingInterval\":{pingInterval},\"pingTimeout\":20000,\"maxPayload\":1000000}}"));
                byte[] response = Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {Encoding.ASCII.GetString(accept)}\r\n\r\n");
                conn = new Conn(s, id);
                conn.Send([.. response, .. open]);
                len -= end + 4;
                Buffer.BlockCopy(buf, end + 4, buf, 0, len);

                // Frames: CONNECT and time acks answered; pongs and anything else ignored.
                while (true)
                {
                    while (WebSocketFrameHeader.TryRead(buf.AsSpan(0, len), true, out WebSocketFrameHeader h, out _) == OperationStatus.Done
                        && len >= h.HeaderLength + h.PayloadLength)
                    {
                        Span<byte> payload = buf.AsSpan(h.HeaderLength, (int)h.PayloadLength);
                        WebSocketMask.Apply(payload, h.MaskKey, 0);
                        if (h.Opcode == WebSocketOpcode.Close)
                        {
                            return;
                        }

                        OnPacket(conn, payload, sid);
                        int used = h.HeaderLength + (int)h.PayloadLength;
                        len -= used;
                        Buffer.BlockCopy(buf, used, buf, 0, len);
                    }

                    if (len == 0)
                    {
                        // Idle: hold no buffer while waiting (zero-byte receive).
                        ArrayPool<byte>.Shared.Return(buf);
                        buf = [];
                        await s.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
                        buf = ArrayPool<byte>.Shared.Rent(4096);
                    }

                    int r = await s.ReceiveAsync(buf.AsMemory(len), SocketFlags.None).ConfigureAwait(false);
                    if (r == 0 || len + r >= buf.Length)
                    {
                        return;
                    }

                    len += r;
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
            finally
            {
                if (conn is not null)
                {
                    conn.Open = false;
                    if (conn.Registered)
                    {
                        _partitions[conn.Id % _partitions.Length].Remove(conn);
                        Interlocked.Decrement(ref _connections);
                    }
                }

                if (buf.Length > 0)
                {
                    ArrayPool<byte>.Shared.Return(buf);
                }

                s.Dispose();
            }
        }

        private void OnPacket(Conn conn, ReadOnlySpan<byte> p, string sid)
        {
            if (p.StartsWith("40"u8))
            {
                conn.Send(Frame(Encoding.UTF8.GetBytes($"40{{\"sid\":\"{sid}\"}}")));
                if (conn.Registered)
                {
                    return;
                }

                conn.Registered = true;
                _partitions[conn.Id % _partitions.Length].Add(conn);
                Interlocked.Increment(ref _connections);
            }
            else if (p.StartsWith("42"u8))
            {
                // 42<ackId>["time"] → 43<ackId>[{"now":ms}]
                int i = 2;
                while (i < p.Length && p[i] >= '0' && p[i] <= '9')
                {
                    i++;
                }

                if (i > 2 && p.Slice(i).StartsWith("[\"time\""u8))
                {
                    string ack = Encoding.ASCII.GetString(p.Slice(2, i - 2));
                    conn.Send(Frame(Encoding.UTF8.GetBytes($"43{ack}[{{\"now\":{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}}}]")));
                }
            }
        }

        private static int IndexOf(ReadOnlySpan<byte> s, ReadOnlySpan<byte> v) => s.IndexOf(v);

        // Admin: HTTP/1.1 keep-alive, just enough for the loadgen's HttpClient and the harness's curl.
        private async Task HandleAdminAsync(Socket s)
        {
            byte[] buf = new byte[1 << 20];
            int len = 0;
            try
            {
                while (true)
                {
                    int end;
                    while ((end = IndexOf(buf.AsSpan(0, len), "\r\n\r\n"u8)) < 0)
                    {
                        int n = await s.ReceiveAsync(buf.AsMemory(len), SocketFlags.None).ConfigureAwait(false);
                        if (n == 0)
                        {
                            return;
                        }

                        len += n;
                    }

                    string head = Encoding.ASCII.GetString(buf, 0, end);
                    string[] lines = head.Split("\r\n");
                    string[] requestLine = lines[0].Split(' ');
                    int contentLength = lines.Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Select(p => int.Parse(p[1].Trim(), CultureInfo.InvariantCulture)).FirstOrDefault();
                    while (len < end + 4 + contentLength)
                    {
                        int n = await s.ReceiveAsync(buf.AsMemory(len), SocketFlags.None).ConfigureAwait(false);
                        if (n == 0)
                        {
                            return;
                        }

                        len += n;
                    }

                    byte[] body = buf.AsSpan(end + 4, contentLength).ToArray();
                    int used = end + 4 + contentLength;
                    len -= used;
                    Buffer.BlockCopy(buf, used, buf, 0, len);

                    (int status, string json) = (requestLine[0], requestLine[1]) switch
                    {
                        ("GET", "/readyz" or "/healthz") => (200, "{\"status\":\"ok\"}"),
                        ("GET", "/v1/stats") => (200, $"{{\"connections\":{Volatile.Read(ref _connections)}}}"),
                        ("POST", "/v1/publish") => Publish(body),
                        _ => (404, "{\"error\":\"not found\"}"),
                    };
                    byte[] payload = Encoding.UTF8.GetBytes(json);
                    string reason = status switch { 200 => "OK", 202 => "Accepted", 400 => "Bad Request", _ => "Not Found" };
                    byte[] response = [.. Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {payload.Length}\r\n\r\n"), .. payload];
                    await s.SendAsync(response, SocketFlags.None).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or FormatException)
            {
            }
            finally
            {
                s.Dispose();
            }
        }

        private (int, string) Publish(byte[] body)
        {
            try
            {
                using var doc = JsonDocument.Parse(body);
                JsonElement root = doc.RootElement;
                string nsp = root.TryGetProperty("namespace", out JsonElement n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "/";
                string ev = root.GetProperty("event").GetString()!;

                // Socket.IO EVENT: 42[<nsp>,]["event",...data]; encoded once, shared by every partition.
                var sb = new StringBuilder("42");
                if (nsp != "/")
                {
                    sb.Append(nsp).Append(',');
                }

                sb.Append('[').Append(JsonSerializer.Serialize(ev));
                if (root.TryGetProperty("data", out JsonElement data) && data.ValueKind == JsonValueKind.Array)
                {
                    foreach (JsonElement d in data.EnumerateArray())
                    {
                        sb.Append(',').Append(d.GetRawText());
                    }
                }

                sb.Append(']');
                byte[] frame = Frame(Encoding.UTF8.GetBytes(sb.ToString()));
                long seq = Interlocked.Increment(ref _sequence);
                foreach (Partition p in _partitions)
                {
                    p.Enqueue(frame);
                }

                return (202, $"{{\"id\":\"floor-{seq}\",\"sequence\":{seq}}}");
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return (400, "{\"error\":\"bad publish body\"}");
            }
        }
    }
}
