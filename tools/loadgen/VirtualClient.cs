using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Protocol;
using Gateway.Protocol.EngineIO;
using Gateway.Protocol.SocketIO;
using Gateway.Protocol.WebSockets;

namespace Gateway.LoadGen;

/// <summary>Settings every virtual client of a run shares.</summary>
public sealed class ClientContext
{
    public required Options Options { get; init; }
    public required Metrics Metrics { get; init; }
    public required IPEndPoint Target { get; init; }
    public required string HostHeader { get; init; }
    public required byte[] ConnectAuthPrefix { get; init; }
    public CancellationToken Stopping { get; init; }
}

/// <summary>
/// One socket.io-client 4.8 look-alike: Engine.IO v4 polling handshake then websocket upgrade (or websocket only),
/// heartbeat answers, namespace CONNECT with auth, the `time` ack for the clock offset, prompt bookkeeping, and
/// reconnection with the Manager's backoff plus connection-state recovery. No thread or timer of its own: the
/// <see cref="Watchdog"/> enforces deadlines for all clients.
/// </summary>
public sealed class VirtualClient
{
    private static readonly byte[] s_pong = "3"u8.ToArray();
    private readonly ClientContext _ctx;
    private readonly IPAddress? _source;
    private readonly bool _stayOnPolling;
    private readonly Backoff _backoff = new();
    private readonly object _sync = new();

    // Session state.
    private Conn? _get;
    private Conn? _post;
    private Conn? _ws;
    private string? _sid;
    private bool _onWebSocket;
    private bool _pausing;
    private TaskCompletionSource? _pollPaused;
    private List<byte[]>? _outbox;
    private bool _posting;
    private TaskCompletionSource<ClientException>? _end;
    private int _pingInterval = 25000;
    private int _pingTimeout = 20000;
    private long _sessionStart;
    private bool _everConnected;
    private bool _nspConnected;
    private int _pendingAttachments;

    // Survives reconnections, like socket.io-client's Socket.
    private string? _pid;
    private string? _lastOffset;
    private long _timeAckId = -1;
    private long _timeSentTicks;
    private long _ackSeq;
    private ulong[]? _seen;
    private Dictionary<long, long>? _answerIntended;
    private int _highestPrompt;

    public VirtualClient(ClientContext ctx, int id, IPAddress? source, bool stayOnPolling)
    {
        _ctx = ctx;
        Id = id;
        _source = source;
        _stayOnPolling = stayOnPolling;
    }

    public int Id { get; }

    /// <summary>Environment.TickCount64 after which the watchdog fails the session; 0 when none.</summary>
    public long Deadline;

    public bool IsConnected => _nspConnected;

    public double ClockOffsetMs { get; private set; }

    public bool StateRecovered { get; private set; }

    private Options Opt => _ctx.Options;

    private Metrics M => _ctx.Metrics;

    /// <summary>Runs sessions until stopped, reconnecting with backoff like the socket.io-client Manager.</summary>
    public async Task RunAsync()
    {
        CancellationToken stop = _ctx.Stopping;
        while (!stop.IsCancellationRequested)
        {
            ClientException end = await SessionAsync().ConfigureAwait(false);
            if (stop.IsCancellationRequested)
            {
                return;
            }

            if (end.Kind != "dropped")
            {
                M.Error(end.Kind, end.Message);
            }

            if (!Opt.Reconnect || end.Kind == "server-disconnect")
            {
                return; // socket.io-client does not reconnect after "io server disconnect"
            }

            try
            {
                await Task.Delay(_backoff.Duration(), stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref M.Reconnects);
        }
    }

    /// <summary>Ends the current session from outside (watchdog timeout, storm drop).</summary>
    public void Fail(ClientException reason)
    {
        TaskCompletionSource<ClientException>? end = _end;
        if (end is not null && end.TrySetResult(reason))
        {
            CloseAll();
        }
    }

    private void CloseAll()
    {
        Deadline = 0;
        _get?.Dispose();
        _post?.Dispose();
        _ws?.Dispose();
    }

    private async Task<ClientException> SessionAsync()
    {
        var end = new TaskCompletionSource<ClientException>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_sync)
        {
            _end = end;
            _get = _post = _ws = null;
            _sid = null;
            _onWebSocket = _pausing = _posting = false;
            _outbox = null;
            _pollPaused = null;
            _pendingAttachments = 0;
        }

        _sessionStart = Stopwatch.GetTimestamp();
        Deadline = Environment.TickCount64 + (long)Opt.ConnectTimeout.TotalMilliseconds;
        Interlocked.Increment(ref M.Connecting);
        _ = Guard(OpenAsync(end), end);
        ClientException result;
        using (_ctx.Stopping.Register(static s => ((VirtualClient)s!).Fail(new ClientException("stopped", "stopping")), this))
        {
            result = await end.Task.ConfigureAwait(false);
        }

        if (_nspConnected)
        {
            _nspConnected = false;
            Interlocked.Decrement(ref M.Connected);
            Interlocked.Decrement(ref (_onWebSocket ? ref M.OnWebSocket : ref M.OnPolling));
        }
        else
        {
            Interlocked.Decrement(ref M.Connecting);
        }

        CloseAll();
        return result;
    }

    // Ends the session the task belongs to; a task left over from an earlier session cannot end the current one.
    private async Task Guard(Task task, TaskCompletionSource<ClientException> end)
    {
        ClientException? failure = null;
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (ClientException e)
        {
            failure = e;
        }
        catch (Exception e) when (e is ObjectDisposedException or IOException or System.Net.Sockets.SocketException)
        {
            failure = new ClientException("closed", e.Message);
        }
        catch (Exception e)
        {
            failure = new ClientException("internal", e.GetType().Name + ": " + e.Message);
        }

        if (failure is not null && end.TrySetResult(failure) && ReferenceEquals(end, _end))
        {
            CloseAll();
        }
    }

    private static void ThrowIfEnded(TaskCompletionSource<ClientException> end, Conn? fresh = null)
    {
        if (end.Task.IsCompleted)
        {
            fresh?.Dispose();
            throw new ClientException("closed", "session ended");
        }
    }

    private string Query(string transport, bool timestamp)
    {
        var sb = new StringBuilder(Opt.Path).Append("?EIO=4&transport=").Append(transport);
        if (_sid is not null)
        {
            sb.Append("&sid=").Append(_sid);
        }

        if (timestamp)
        {
            sb.Append("&t=").Append(RandomString());
        }

        return sb.ToString();
    }

    /// <summary>engine.io-client's randomString(): base-36 milliseconds minus 3 leading digits, then 3 random chars.</summary>
    public static string RandomString()
    {
        string now = ToBase36(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Span<char> rand = stackalloc char[3];
        for (int i = 0; i < 3; i++)
        {
            rand[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[Random.Shared.Next(36)];
        }

        return string.Concat(now.AsSpan(3), rand);
    }

    private static string ToBase36(long v)
    {
        Span<char> buf = stackalloc char[16];
        int i = buf.Length;
        do
        {
            buf[--i] = "0123456789abcdefghijklmnopqrstuvwxyz"[(int)(v % 36)];
            v /= 36;
        }
        while (v > 0);
        return new string(buf[i..]);
    }

    private async Task OpenAsync(TaskCompletionSource<ClientException> end)
    {
        if (Opt.Transport == "websocket")
        {
            Conn only = await OpenWebSocketAsync(end).ConfigureAwait(false);
            _ws = only;
            _onWebSocket = true;
            (WebSocketOpcode op, byte[] open) = await only.ReadMessageAsync().ConfigureAwait(false);
            if (op != WebSocketOpcode.Text || open.Length == 0 || open[0] != (byte)'0')
            {
                throw new ClientException("protocol", "expected an open packet");
            }

            HandleOpen(open.AsSpan(1));
            SendConnect();
            await WebSocketLoopAsync(only, end).ConfigureAwait(false);
            return;
        }

        Conn get = await Conn.OpenAsync(_ctx.Target, _source).ConfigureAwait(false);
        ThrowIfEnded(end, get);
        _get = get;
        HttpResponse handshake = await PollOnceAsync(get).ConfigureAwait(false);
        ThrowIfEnded(end);
        bool upgrades = false;
        bool first = true;
        foreach (ReadOnlySpan<byte> record in EngineIOPollingPayload.Split(handshake.Body))
        {
            if (first)
            {
                first = false;
                if (record.IsEmpty || record[0] != (byte)'0')
                {
                    throw new ClientException("protocol", "expected an open packet");
                }

                upgrades = HandleOpen(record.Slice(1));
                continue;
            }

            HandleRecord(record);
        }

        SendConnect();
        Task poll = Guard(PollLoopAsync(end), end);
        if (!upgrades || _stayOnPolling)
        {
            await poll.ConfigureAwait(false);
            return;
        }

        Conn? ws = null;
        try
        {
            ws = await OpenWebSocketAsync(end).ConfigureAwait(false);
            ws.SendFrame(WebSocketOpcode.Text, "2probe"u8);
            (WebSocketOpcode op, byte[] probe) = await ws.ReadMessageAsync().ConfigureAwait(false);
            if (op != WebSocketOpcode.Text || !probe.AsSpan().SequenceEqual("3probe"u8))
            {
                throw new ClientException("protocol", "bad probe answer");
            }
        }
        catch (ClientException) when (!end.Task.IsCompleted)
        {
            // socket.io-client stays on polling when the probe fails.
            ws?.Dispose();
            Interlocked.Increment(ref M.UpgradeFailures);
            await poll.ConfigureAwait(false);
            return;
        }

        // Pause polling: let the pending GET end (the server answers it with a noop) and the POSTs drain, then "5".
        var paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_sync)
        {
            _pollPaused = paused;
            _pausing = true;
        }

        await paused.Task.ConfigureAwait(false);
        while (Volatile.Read(ref _posting) && !end.Task.IsCompleted)
        {
            await Task.Delay(5).ConfigureAwait(false);
        }

        ThrowIfEnded(end, ws);
        ws.SendFrame(WebSocketOpcode.Text, "5"u8);
        List<byte[]>? left;
        lock (_sync)
        {
            _ws = ws;
            _onWebSocket = true;
            left = _outbox;
            _outbox = null;
            if (_nspConnected)
            {
                Interlocked.Decrement(ref M.OnPolling);
                Interlocked.Increment(ref M.OnWebSocket);
            }
        }

        if (left is not null)
        {
            foreach (byte[] packet in left)
            {
                ws.SendFrame(WebSocketOpcode.Text, packet);
            }
        }

        _get?.Dispose();
        _post?.Dispose();
        ThrowIfEnded(end, ws);
        await WebSocketLoopAsync(ws, end).ConfigureAwait(false);
    }

    private async Task<Conn> OpenWebSocketAsync(TaskCompletionSource<ClientException> end)
    {
        Conn conn = await Conn.OpenAsync(_ctx.Target, _source).ConfigureAwait(false);
        ThrowIfEnded(end, conn);

        if (_ws is null)
        {
            _ws = conn; // so the watchdog's Fail closes it too
        }

        byte[] key = new byte[WebSocketHandshake.KeyLength];
        WebSocketHandshake.CreateClientKey(key);
        string keyText = Encoding.ASCII.GetString(key);
        conn.Send(Conn.Ascii(WebSocketUpgradeRequest(Query("websocket", false), keyText, _ctx.HostHeader)));
        HttpResponse response = await conn.ReadHttpResponseAsync(headOnly: true).ConfigureAwait(false);
        ThrowIfEnded(end, conn);
        if (response.Status != 101)
        {
            conn.Dispose();
            throw new ClientException("http-" + response.Status, "websocket upgrade refused");
        }

        if (!IsAcceptValid(key, response.SecWebSocketAccept))
        {
            conn.Dispose();
            throw new ClientException("protocol", "bad Sec-WebSocket-Accept");
        }

        return conn;
    }

    /// <summary>Header for header what socket.io-client's `ws` sends (permessage-deflate is offered, and refused by default).</summary>
    public static string WebSocketUpgradeRequest(string target, string keyText, string host) =>
        $"GET {target} HTTP/1.1\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {keyText}\r\n" +
        $"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nHost: {host}\r\n\r\n";

    /// <summary>
    /// socket.io-client's polling GET in Node, except that the connection is kept alive as a browser does (Node's
    /// XMLHttpRequest shim sends "Connection: close" and burns a port per poll).
    /// </summary>
    public static string PollingGetRequest(string target, string host) =>
        $"GET {target} HTTP/1.1\r\nUser-Agent: node-XMLHttpRequest\r\nAccept: */*\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n";

    private static bool IsAcceptValid(byte[] key, string? accept)
    {
        Span<byte> expected = stackalloc byte[WebSocketHandshake.AcceptKeyLength];
        WebSocketHandshake.ComputeAcceptKey(key, expected);
        return accept is not null && Encoding.ASCII.GetBytes(accept).AsSpan().SequenceEqual(expected);
    }

    private async Task<HttpResponse> PollOnceAsync(Conn conn)
    {
        conn.Send(Conn.Ascii(PollingGetRequest(Query("polling", true), _ctx.HostHeader)));
        HttpResponse response = await conn.ReadHttpResponseAsync().ConfigureAwait(false);
        if (response.Status != 200)
        {
            throw new ClientException("http-" + response.Status, "polling GET answered " + response.Status);
        }

        return response;
    }

    private async Task PollLoopAsync(TaskCompletionSource<ClientException> end)
    {
        while (true)
        {
            TaskCompletionSource? paused = null;
            lock (_sync)
            {
                if (_pausing)
                {
                    paused = _pollPaused;
                }
            }

            if (paused is not null)
            {
                paused.TrySetResult();
                return;
            }

            ThrowIfEnded(end);
            HttpResponse response = await PollOnceAsync(_get!).ConfigureAwait(false);
            ThrowIfEnded(end);
            foreach (ReadOnlySpan<byte> record in EngineIOPollingPayload.Split(response.Body))
            {
                HandleRecord(record);
            }

            if (response.Close)
            {
                _get!.Dispose();
                Conn get = await Conn.OpenAsync(_ctx.Target, _source).ConfigureAwait(false);
                ThrowIfEnded(end, get);
                _get = get;
            }
        }
    }

    private void HandleRecord(ReadOnlySpan<byte> record)
    {
        if (!record.IsEmpty && record[0] == EngineIOPacket.BinaryPrefix)
        {
            OnBinary();
            return;
        }

        HandleEnginePacket(record);
    }

    private async Task WebSocketLoopAsync(Conn ws, TaskCompletionSource<ClientException> end)
    {
        while (true)
        {
            (WebSocketOpcode op, byte[] payload) = await ws.ReadMessageAsync().ConfigureAwait(false);
            ThrowIfEnded(end);
            switch (op)
            {
                case WebSocketOpcode.Text:
                    HandleEnginePacket(payload);
                    break;
                case WebSocketOpcode.Binary:
                    OnBinary();
                    break;
                case WebSocketOpcode.Ping:
                    ws.SendFrame(WebSocketOpcode.Pong, payload);
                    break;
                case WebSocketOpcode.Close:
                    throw new ClientException("closed", "websocket closed by server");
            }
        }
    }

    private void OnBinary()
    {
        Interlocked.Increment(ref M.BinaryReceived);
        if (_pendingAttachments > 0)
        {
            _pendingAttachments--;
        }
    }

    // Parses the open packet's JSON; returns true when a websocket upgrade is offered.
    private bool HandleOpen(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            bool upgrades = false;
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1)
                {
                    continue;
                }

                if (reader.ValueTextEquals("sid"u8))
                {
                    reader.Read();
                    _sid = reader.GetString();
                }
                else if (reader.ValueTextEquals("pingInterval"u8))
                {
                    reader.Read();
                    _pingInterval = reader.GetInt32();
                }
                else if (reader.ValueTextEquals("pingTimeout"u8))
                {
                    reader.Read();
                    _pingTimeout = reader.GetInt32();
                }
                else if (reader.ValueTextEquals("upgrades"u8))
                {
                    reader.Read();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        upgrades |= reader.ValueTextEquals("websocket"u8);
                    }
                }
            }

            if (_sid is null)
            {
                throw new ClientException("protocol", "open packet without sid");
            }

            // engine.io-client's ping timer: a ping must come within pingInterval + pingTimeout.
            Deadline = Environment.TickCount64 + _pingInterval + _pingTimeout;
            return upgrades;
        }
        catch (JsonException e)
        {
            throw new ClientException("protocol", "open packet: " + e.Message);
        }
    }

    private void SendConnect()
    {
        // socket.io-client: Object.assign({ pid, offset }, auth) when a pid was offered before.
        var sb = new StringBuilder();
        if (_pid is not null)
        {
            // JSON.stringify drops an undefined offset, so it is only sent once an event carried one.
            sb.Append("\"pid\":").Append(JsonSerializer.Serialize(_pid));
            if (_lastOffset is not null)
            {
                sb.Append(",\"offset\":").Append(JsonSerializer.Serialize(_lastOffset));
            }
        }

        string auth = Encoding.UTF8.GetString(_ctx.ConnectAuthPrefix);
        if (auth.Length > 0)
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            sb.Append(auth);
        }

        var writer = new ArrayBufferWriter<byte>(64);
        SocketIOPacketWriter.Write(writer, SocketIOPacketType.Connect, Encoding.UTF8.GetBytes(Opt.Namespace), Encoding.UTF8.GetBytes("{" + sb + "}"));
        SendMessage(writer.WrittenSpan);
    }

    /// <summary>Sends an Engine.IO message packet (type 4) with the given Socket.IO text.</summary>
    private void SendMessage(ReadOnlySpan<byte> socketIo)
    {
        byte[] packet = new byte[socketIo.Length + 1];
        packet[0] = (byte)'4';
        socketIo.CopyTo(packet.AsSpan(1));
        SendEngine(packet);
    }

    private void SendEngine(byte[] packet)
    {
        Conn? ws;
        lock (_sync)
        {
            ws = _onWebSocket ? _ws : null;
            if (ws is null)
            {
                (_outbox ??= []).Add(packet);
                if (_posting || _pausing && _pollPaused is not null && _pollPaused.Task.IsCompleted)
                {
                    return; // the pump (or the switch to websocket) will carry it
                }

                _posting = true;
            }
        }

        if (ws is not null)
        {
            ws.SendFrame(WebSocketOpcode.Text, packet);
            return;
        }

        _ = Guard(PostPumpAsync(_end!), _end!);
    }

    // engine.io-client's polling write: everything buffered goes in one POST, joined by the record separator.
    private async Task PostPumpAsync(TaskCompletionSource<ClientException> end)
    {
        try
        {
            while (true)
            {
                byte[] body;
                lock (_sync)
                {
                    if (_outbox is null || _outbox.Count == 0 || _onWebSocket)
                    {
                        _posting = false;
                        return;
                    }

                    var writer = new ArrayBufferWriter<byte>(64);
                    for (int i = 0; i < _outbox.Count; i++)
                    {
                        EngineIOPollingPayload.AppendRecord(writer, _outbox[i], i == 0);
                    }

                    _outbox.Clear();
                    body = writer.WrittenSpan.ToArray();
                }

                string head = $"POST {Query("polling", true)} HTTP/1.1\r\nUser-Agent: node-XMLHttpRequest\r\nAccept: */*\r\nContent-Type: text/plain;charset=UTF-8\r\n" +
                    $"Host: {_ctx.HostHeader}\r\nContent-Length: {body.Length}\r\nConnection: keep-alive\r\n\r\n";
                HttpResponse response;
                bool reused = _post is not null;
                while (true)
                {
                    if (_post is null)
                    {
                        Conn post = await Conn.OpenAsync(_ctx.Target, _source).ConfigureAwait(false);
                        ThrowIfEnded(end, post);
                        _post = post;
                    }

                    try
                    {
                        _post.Send([.. Conn.Ascii(head), .. body]);
                        response = await _post.ReadHttpResponseAsync().ConfigureAwait(false);
                        break;
                    }
                    catch (ClientException e) when (e.Kind == "closed" && reused)
                    {
                        // The server closed the idle keep-alive connection (Node's http server does after 5 s,
                        // keepAliveTimeout) before this request reached it: a browser retries on a new connection,
                        // and so does this client, once. The session is not over.
                        _post.Dispose();
                        _post = null;
                        reused = false;
                    }
                }

                ThrowIfEnded(end);
                if (response.Status != 200)
                {
                    throw new ClientException("http-" + response.Status, "polling POST answered " + response.Status);
                }

                if (response.Close)
                {
                    _post.Dispose();
                    _post = null;
                }
            }
        }
        catch
        {
            Volatile.Write(ref _posting, false);
            throw;
        }
    }

    private void HandleEnginePacket(ReadOnlySpan<byte> packet)
    {
        if (EngineIOPacket.TryParseText(packet, out EngineIOPacketType type, out ReadOnlySpan<byte> data) != ProtocolError.None)
        {
            throw new ClientException("protocol", "bad engine.io packet");
        }

        switch (type)
        {
            case EngineIOPacketType.Ping:
                Deadline = Environment.TickCount64 + _pingInterval + _pingTimeout;
                if (Opt.NoPong)
                {
                    break;
                }

                if (Opt.PongDelayMs > 0)
                {
                    _ = Guard(DelayedPongAsync(_end!), _end!);
                }
                else
                {
                    SendEngine(s_pong);
                    Interlocked.Increment(ref M.PongsSent);
                }

                break;
            case EngineIOPacketType.Message:
                Interlocked.Increment(ref M.MessagesReceived);
                HandleSocketIO(data);
                break;
            case EngineIOPacketType.Close:
                throw new ClientException("closed", "engine.io close packet");
            case EngineIOPacketType.Noop:
            case EngineIOPacketType.Pong:
                break;
            default:
                throw new ClientException("protocol", "unexpected engine.io packet " + type);
        }
    }

    private async Task DelayedPongAsync(TaskCompletionSource<ClientException> end)
    {
        await Task.Delay(Opt.PongDelayMs).ConfigureAwait(false);
        if (!end.Task.IsCompleted)
        {
            SendEngine(s_pong);
            Interlocked.Increment(ref M.PongsSent);
        }
    }

    private void HandleSocketIO(ReadOnlySpan<byte> text)
    {
        if (SocketIOPacketParser.TryParse(text, out SocketIOPacket packet) != ProtocolError.None)
        {
            throw new ClientException("protocol", "bad socket.io packet");
        }

        switch (packet.Type)
        {
            case SocketIOPacketType.Connect:
                OnNamespaceConnected(packet.Payload);
                break;
            case SocketIOPacketType.ConnectError:
                throw new ClientException("connect-error", Encoding.UTF8.GetString(packet.Payload));
            case SocketIOPacketType.Disconnect:
                Interlocked.Increment(ref M.ServerDisconnects);
                throw new ClientException("server-disconnect", "io server disconnect");
            case SocketIOPacketType.Event:
            case SocketIOPacketType.BinaryEvent:
                _pendingAttachments = packet.Attachments;
                OnEvent(packet);
                break;
            case SocketIOPacketType.Ack:
            case SocketIOPacketType.BinaryAck:
                Interlocked.Increment(ref M.AcksReceived);
                if (packet.AckId == _timeAckId)
                {
                    OnTimeAck(packet.Payload);
                }
                else
                {
                    OnAnswerAck(packet.AckId);
                }

                break;
        }
    }

    private void OnNamespaceConnected(ReadOnlySpan<byte> payload)
    {
        string? pid = null;
        var reader = new Utf8JsonReader(payload);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("pid"u8))
            {
                reader.Read();
                pid = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
        }

        // socket.io-client: recovered = this._pid && pid === this._pid.
        StateRecovered = _pid is not null && pid == _pid;
        if (StateRecovered)
        {
            Interlocked.Increment(ref M.Recovered);
        }

        _pid = pid;
        if (!_nspConnected)
        {
            _nspConnected = true;
            Interlocked.Decrement(ref M.Connecting);
            M.OnConnected();
            Interlocked.Increment(ref (_onWebSocket ? ref M.OnWebSocket : ref M.OnPolling));
            Interlocked.Increment(ref M.Connects);
            if (!_everConnected)
            {
                _everConnected = true;
                M.ConnectTime.Record((long)Stopwatch.GetElapsedTime(_sessionStart).TotalMicroseconds);
            }
        }

        _backoff.Reset();
        EmitTime();
    }

    private void EmitTime()
    {
        _timeAckId = _ackSeq++;
        _timeSentTicks = Stopwatch.GetTimestamp();
        var writer = new ArrayBufferWriter<byte>(32);
        SocketIOPacketWriter.WriteEvent(writer, Encoding.UTF8.GetBytes(Opt.Namespace), "time"u8, default, _timeAckId);
        SendMessage(writer.WrittenSpan);
    }

    private void OnTimeAck(ReadOnlySpan<byte> payload)
    {
        TimeSpan rtt = Stopwatch.GetElapsedTime(_timeSentTicks);
        M.AckLatency.Record((long)rtt.TotalMicroseconds);
        var reader = new Utf8JsonReader(payload);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("now"u8))
            {
                reader.Read();
                double serverNow = reader.GetDouble();
                double localMid = NowUnixMs() - rtt.TotalMilliseconds / 2;
                ClockOffsetMs = Opt.SameClock ? 0 : serverNow - localMid;
                M.RecordClockOffset(ClockOffsetMs);
                return;
            }
        }
    }

    public static double NowUnixMs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / (double)TimeSpan.TicksPerMillisecond;

    /// <summary>The offset a reconnect would send (socket.io-client's <c>_lastOffset</c>): the last string argument of the latest event, tracked once the server offered a pid.</summary>
    internal string? LastOffset => _lastOffset;

    /// <summary>Tests: the ack of the <c>time</c> event (<c>[{"now":ms}]</c>), as if it had arrived.</summary>
    internal void ReceiveTimeAck(ReadOnlySpan<byte> payload) => OnTimeAck(payload);

    /// <summary>Tests: one Socket.IO EVENT packet as text (<c>2["prompt",{…},"&lt;offset&gt;"]</c>), as if it had arrived.</summary>
    internal void ReceiveEvent(ReadOnlySpan<byte> text)
    {
        if (SocketIOPacketParser.TryParse(text, out SocketIOPacket packet) != ProtocolError.None || packet.Type != SocketIOPacketType.Event)
        {
            throw new ArgumentException("not a socket.io EVENT packet", nameof(text));
        }

        OnEvent(packet);
    }

    private void OnEvent(in SocketIOPacket packet)
    {
        string? id = null;
        double sentAt = double.NaN;
        string? lastString = null;
        bool lastIsString = false;
        var reader = new Utf8JsonReader(packet.Payload);
        reader.Read(); // [
        reader.Read(); // name
        bool isPrompt = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("prompt"u8);
        while (reader.Read() && reader.CurrentDepth >= 1)
        {
            if (reader.CurrentDepth == 1 && reader.TokenType != JsonTokenType.EndArray)
            {
                lastIsString = reader.TokenType == JsonTokenType.String;
                lastString = lastIsString && _pid is not null ? reader.GetString() : null;
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    int depth = reader.CurrentDepth;
                    bool first = id is null && double.IsNaN(sentAt);
                    while (reader.Read() && reader.CurrentDepth > depth)
                    {
                        if (isPrompt && first && reader.CurrentDepth == depth + 1 && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            if (reader.ValueTextEquals("id"u8))
                            {
                                reader.Read();
                                id = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                            }
                            else if (reader.ValueTextEquals("sentAt"u8))
                            {
                                reader.Read();
                                sentAt = reader.TokenType == JsonTokenType.Number ? reader.GetDouble() : double.NaN;
                            }
                        }
                    }

                    lastIsString = false;
                }
            }
        }

        // Connection-state recovery: the server appends the offset as the last argument.
        if (_pid is not null && lastIsString)
        {
            _lastOffset = lastString;
        }

        if (isPrompt && id is not null)
        {
            OnPrompt(id, sentAt);
        }
    }

    /// <summary>When this process started, Unix ms: prompts published before it belong to another run.</summary>
    private static readonly double s_startedAtMs = NowUnixMs();

    private void OnPrompt(string id, double sentAtMs)
    {
        PromptStats[] prompts = M.Prompts;
        // A gateway's late-joiner prompt (the channel's current one) may be an earlier run's "p-k": not ours.
        // One second of slack covers the clock offset between this machine and the server.
        if (!double.IsNaN(sentAtMs) && sentAtMs < s_startedAtMs - 1000)
        {
            Interlocked.Increment(ref M.EarlierRunPrompts);
            return;
        }

        if (!id.StartsWith("p-", StringComparison.Ordinal) || !int.TryParse(id.AsSpan(2), out int n) || n < 1 || n > prompts.Length)
        {
            Interlocked.Increment(ref M.UnexpectedPrompts);
            return;
        }

        PromptStats stats = prompts[n - 1];
        _seen ??= new ulong[(prompts.Length + 63) / 64];
        ulong bit = 1UL << ((n - 1) & 63);
        ref ulong word = ref _seen[(n - 1) >> 6];
        if ((word & bit) != 0)
        {
            Interlocked.Increment(ref stats.Duplicates);
            return;
        }

        word |= bit;
        if (n < _highestPrompt)
        {
            Interlocked.Increment(ref stats.OutOfOrder);
        }

        _highestPrompt = Math.Max(_highestPrompt, n);
        Interlocked.Increment(ref stats.Received);
        if (Opt.Verb == "answers")
        {
            _ = Guard(AnswerAsync(_end!, n), _end!);
        }

        if (!double.IsNaN(sentAtMs))
        {
            double latencyMs = NowUnixMs() + ClockOffsetMs - sentAtMs;
            long us = Math.Max(0, (long)(latencyMs * 1000));
            stats.Latency.Record(us);
            M.AllLatency.Record(us);
        }
    }

    // answers: think, then emit the answer with an ack. The clock starts at the intended send time, so a late
    // generator shows up as latency instead of hiding it (no coordinated omission).
    private async Task AnswerAsync(TaskCompletionSource<ClientException> end, int prompt)
    {
        double min = Opt.ThinkMin.TotalMilliseconds, max = Opt.ThinkMax.TotalMilliseconds;
        TimeSpan think = TimeSpan.FromMilliseconds(min + Random.Shared.NextDouble() * Math.Max(0, max - min));
        long intended = Stopwatch.GetTimestamp() + (long)(think.TotalSeconds * Stopwatch.Frequency);
        await Task.Delay(think).ConfigureAwait(false);
        ThrowIfEnded(end);
        long ackId;
        lock (_sync)
        {
            ackId = _ackSeq++;
            (_answerIntended ??= [])[ackId] = intended;
        }

        var writer = new ArrayBufferWriter<byte>(96);
        byte[] nsp = Encoding.UTF8.GetBytes(Opt.Namespace);
        byte[] eventName = Encoding.UTF8.GetBytes(Opt.AnswerEvent);
        string answer = $"{{\"promptId\":\"p-{prompt}\",\"choice\":{Id % 4}}}";
        if (Opt.BinaryBytes > 0)
        {
            // BINARY_EVENT: 51-<id>["answer",{…},{"_placeholder":true,"num":0}] then the attachment.
            SocketIOPacketWriter.WriteEvent(writer, nsp, eventName, Encoding.UTF8.GetBytes(answer + ",{\"_placeholder\":true,\"num\":0}"), ackId, attachments: 1);
            SendMessage(writer.WrittenSpan);
            byte[] attachment = new byte[Opt.BinaryBytes];
            Random.Shared.NextBytes(attachment);
            SendBinary(attachment);
        }
        else
        {
            SocketIOPacketWriter.WriteEvent(writer, nsp, eventName, Encoding.UTF8.GetBytes(answer), ackId);
            SendMessage(writer.WrittenSpan);
        }

        Interlocked.Increment(ref M.AnswersSent);
    }

    private void OnAnswerAck(long ackId)
    {
        long intended;
        lock (_sync)
        {
            if (_answerIntended is null || !_answerIntended.Remove(ackId, out intended))
            {
                return;
            }
        }

        Interlocked.Increment(ref M.AnswersAcked);
        M.AnswerAck.Record((long)Stopwatch.GetElapsedTime(intended).TotalMicroseconds);
    }

    // A binary Engine.IO message: a binary frame on websocket, a "b" + base64 record on polling.
    private void SendBinary(byte[] data)
    {
        Conn? ws;
        lock (_sync)
        {
            ws = _onWebSocket ? _ws : null;
        }

        if (ws is not null)
        {
            ws.SendFrame(WebSocketOpcode.Binary, data);
            return;
        }

        var writer = new ArrayBufferWriter<byte>(EngineIOPacket.GetBase64RecordLength(data.Length));
        EngineIOPacket.WriteBase64Record(writer, data);
        SendEngine(writer.WrittenSpan.ToArray());
    }

    /// <summary>Prompts this client has had (for tests).</summary>
    public int PromptsSeen => _seen?.Sum(w => System.Numerics.BitOperations.PopCount(w)) ?? 0;
}
