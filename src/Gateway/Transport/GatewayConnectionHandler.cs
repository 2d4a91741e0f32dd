using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.EngineIO;
using Gateway.Output;
using Gateway.Protocol;
using Gateway.Protocol.Buffers;
using Gateway.Protocol.Http;
using Gateway.Protocol.Proxy;
using Gateway.Protocol.WebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using HttpMethod = Gateway.Protocol.Http.HttpMethod;

namespace Gateway.Transport;

/// <summary>
/// The public port: our own HTTP/1.1 handling on the Kestrel transport (no ASP.NET pipeline per socket). Each TCP
/// connection carries polling requests (keep-alive) until it either ends or upgrades to a WebSocket, exactly as
/// engine.io's request verification does it (same error codes and messages).
/// </summary>
internal sealed partial class GatewayConnectionHandler : ConnectionHandler
{
    private readonly GatewayRuntime _runtime;

    private readonly FreshConnections _fresh = new();
    private int _lingeringRefusals;

    // Gateway:Demo:Enabled: the demo viewer page and its scripts under /demo/ (GatewayConnectionHandler.Files.cs).
    private readonly StaticFiles? _demo;

    // Redis mode: requests of sessions another gateway of the region holds go there (GatewayConnectionHandler.Region.cs).
    private readonly PeerRequests? _peerRequests;

    public GatewayConnectionHandler(GatewayRuntime runtime)
    {
        _runtime = runtime;
        _peerRequests = runtime.Peers.LocalInstance is null ? null : new PeerRequests(runtime.Options, runtime.Peers);
        runtime.Admission.SetIdleEviction(() => EvictOldestFresh());
        _demo = runtime.Options.Demo.Enabled ? StaticFiles.Folder("demo") : null;
    }

    /// <summary>Connections that have sent no complete request head yet (evictable at the cap).</summary>
    internal int FreshConnections => _fresh.Count;

    // engine.io Server.errors / errorMessages.
    private enum EngineIOError
    {
        UnknownTransport = 0,
        UnknownSid = 1,
        BadHandshakeMethod = 2,
        BadRequest = 3,
        Forbidden = 4,
        UnsupportedProtocolVersion = 5,
    }

    private static ReadOnlySpan<byte> ErrorMessage(EngineIOError error) => error switch
    {
        EngineIOError.UnknownTransport => "Transport unknown"u8,
        EngineIOError.UnknownSid => "Session ID unknown"u8,
        EngineIOError.BadHandshakeMethod => "Bad handshake method"u8,
        EngineIOError.Forbidden => "Forbidden"u8,
        EngineIOError.UnsupportedProtocolVersion => "Unsupported protocol version"u8,
        _ => "Bad request"u8,
    };

    // Connections still speaking HTTP (polling, or before their upgrade): on shutdown an idle keep-alive one would
    // otherwise hold the process until the host's timeout. WebSockets leave it at the upgrade.
    private readonly ConcurrentDictionary<HttpConnection, byte> _httpPhase = new();

    /// <summary>Shutting down (sessions already closed): ends every HTTP-phase connection after its current request.</summary>
    public void EndHttpConnections()
    {
        foreach (HttpConnection http in _httpPhase.Keys)
        {
            http.Context.Transport.Input.CancelPendingRead();
        }
    }

    /// <summary>
    /// A connection was accepted: counted against the descriptors (evicting the oldest connection that has sent no
    /// request head when they are all taken). Null: refuse it (<see cref="RefuseAcceptedAsync"/>). The viewer cap,
    /// <c>Gateway:MaxConnections</c>, is decided at its handshake.
    /// </summary>
    public HttpConnection? TryAccept(ConnectionContext connection)
    {
        // Connections that have not sent a request head are not viewers yet: at most MaxConnections of them, the
        // oldest making room (idle sockets and slowloris heads cannot fill the instance). Only one idle for a while:
        // a surge's arrivals have their heads on the way.
        if (_fresh.Count >= _runtime.Admission.MaxConnections)
        {
            EvictOldestFresh(_runtime.Wheel.Now - IdleBeforeEviction);
        }

        // Counted first: a connection refused at the descriptors' limit costs no connection state.
        ConnectionQuota quota = default;
        return _runtime.Admission.TryAddConnection(ref quota) ? new HttpConnection(connection, _runtime) { Quota = quota } : null;
    }

    public override Task OnConnectedAsync(ConnectionContext connection) =>
        TryAccept(connection) is HttpConnection http ? RunAsync(http) : RefuseAcceptedAsync(connection);

    /// <summary>Milliseconds a connection must have gone without a request head before it makes room for another.</summary>
    internal const int IdleBeforeEviction = 1000;

    // A new connection makes room by closing the connection that has waited longest for its first head (one that
    // joined at or before since; any, at the descriptors' limit).
    private bool EvictOldestFresh(long since = long.MaxValue)
    {
        HttpConnection? victim = _fresh.TakeOldest(since);
        if (victim is null)
        {
            return false;
        }

        // Its count goes now: the new connection takes it while the victim's close is still under way.
        _runtime.Admission.ReleaseDescriptor(ref victim.Quota);
        _runtime.Metrics.Refusal(RefusalReason.EvictedIdle);
        victim.Abort();
        return true;
    }

    /// <summary>
    /// Most refused connections draining their input at once (beyond: closed at once). Each holds a descriptor beyond
    /// <c>MaxConnections</c>: they must stay well inside the descriptors the automatic cap keeps free for the runtime
    /// (<c>PublicListener.DescriptorReserve</c>, 128), or a flood at the cap takes the runtime's own descriptors and
    /// the process dies ("Out of memory.", seen in <c>FileDescriptorExhaustionTests</c> with 1024).
    /// </summary>
    internal const int MaxLingeringRefusals = 32;

    /// <summary>
    /// A connection refused at the cap, before its request was read: 503 with Retry-After, then a short lingering
    /// close (the request arriving after our close would otherwise make the kernel reset the connection, and the
    /// client might see the reset instead of the 503).
    /// </summary>
    public async Task RefuseAcceptedAsync(ConnectionContext connection)
    {
        try
        {
            PipeWriter output = connection.Transport.Output;
            int length = _runtime.Admission.WriteRefusal(RefusalReason.MaxConnections, output.GetSpan(Admission.MaxRefusalLength));
            output.Advance(length);
            await output.FlushAsync();
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ObjectDisposedException or InvalidOperationException)
        {
            return;
        }

        await LingerRefusedAsync(connection);
    }

    // A refusal written before the request was read: a lingering close, when not too many already linger.
    private async Task LingerRefusedAsync(ConnectionContext connection)
    {
        try
        {
            if (Interlocked.Increment(ref _lingeringRefusals) <= MaxLingeringRefusals)
            {
                await LingerAsync(connection);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _lingeringRefusals);
        }
    }

    /// <summary>
    /// Runs an accepted connection (<see cref="TryAccept"/>) until it ends; its admission counts go with it. One async
    /// method for the connection's whole life (a second one would be a second state machine per socket).
    /// </summary>
    /// <param name="http">The connection's HTTP state; the parameter itself is cleared at a WebSocket upgrade (a parameter
    /// lives in the state machine as long as the connection: a local copy would keep the object alive).</param>
    public async Task RunAsync(HttpConnection? http)
    {
        ConnectionContext connection = http!.Context;
        ConnectionOutput output = http.Output; // the same object whoever owns it later (probe, session)
        _fresh.Add(http, _runtime.Wheel.Now);
        http.StartDeadlines();
        _httpPhase.TryAdd(http, 0);
        PipeReader input = connection.Transport.Input;
        WebSocketConnection? webSocket = null;
        bool linger = false;
        bool refused = false;
        try
        {
            if (_runtime.Options.ProxyProtocol && !await ReadProxyHeaderAsync(connection))
            {
                return;
            }

            // The client's address is final here (a PROXY protocol header, when read, comes before).
            refused = !_runtime.Admission.TryAdmitAddress(ref http.Quota, http.ClientAddress);
            if (refused)
            {
                http.Refuse(RefusalReason.MaxConnectionsPerIp);
            }

            while (!refused)
            {
                ReadResult result = await input.ReadAsync();
                ReadOnlySequence<byte> buffer = result.Buffer;
                bool stop;
                bool upgradedNow = false;
                try
                {
                    if (webSocket is not null)
                    {
                        stop = webSocket.OnRead(ref buffer, result.IsCanceled);
                    }
                    else
                    {
                        if (http!.RequestStartedAt == 0 && !buffer.IsEmpty)
                        {
                            http.RequestStartedAt = Stopwatch.GetTimestamp();
                        }

                        stop = ProcessRequests(http!, ref buffer, result.IsCompleted, out webSocket);
                        stop |= http!.CloseAfterResponse || result.IsCanceled || (_runtime.Stopping && http.ParkedFor is null);
                        if (webSocket is not null)
                        {
                            // From here on the connection is a WebSocket: its admission counts go with it and the
                            // HTTP state is dropped (nothing refers to it any more: one object less per socket).
                            upgradedNow = true;
                            stop = false;
                            webSocket.Quota = http.Quota;
                            _httpPhase.TryRemove(http, out _);
                            _fresh.Remove(http);
                            http.Detach();
                            http = null;
                        }
                    }
                }
                finally
                {
                    // Each byte counted once: when it is consumed.
                    _runtime.Metrics.BytesReceived.Add(result.Buffer.Length - buffer.Length);
                    // Frames sent right behind the upgrade request (or behind a step with another gateway) must be
                    // parsed without waiting for more bytes.
                    input.AdvanceTo(buffer.Start, upgradedNow || webSocket?.HasPending == true ? buffer.Start : buffer.End);
                }

                // Read before the await below, so the read result is not kept in the state machine of every socket.
                bool peerDone = result.IsCompleted;
                if (webSocket?.TakePending() is { } pending)
                {
                    await pending;
                }

                if (stop || (peerDone && !upgradedNow))
                {
                    // A WebSocket we are closing (the peer has not): its close frame must reach the peer.
                    linger = webSocket is not null && !peerDone;
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is ConnectionResetException or IOException or OperationCanceledException or ConnectionAbortedException)
        {
            Log.ConnectionReset(_runtime.Logger, connection.ConnectionId);
        }
        catch (Exception ex)
        {
            Log.ConnectionFailed(_runtime.Logger, connection.ConnectionId, ex);
        }
        finally
        {
            if (http is not null)
            {
                _httpPhase.TryRemove(http, out _);
                http.ParkedFor?.OnPollConnectionClosed(http);
                http.DataFor?.OnDataConnectionClosed(http);
                http.AnswerPending?.Cancel();
            }

            webSocket?.OnEnded();
            if (http is not null)
            {
                _fresh.Remove(http);
                http.Detach();
                _runtime.Admission.ConnectionEnded(ref http.Quota);
            }
            else
            {
                _runtime.Admission.ConnectionEnded(ref webSocket!.Quota);
            }
        }

        if (output.IsBackedUp)
        {
            // The peer takes no bytes (a slow consumer was closed): neither a close frame nor the rest of its queue
            // will reach it, and the transport's graceful close would wait for it forever, holding the socket and its
            // buffers. Reset it now.
            connection.Abort(new ConnectionAbortedException("the peer reads nothing"));
            linger = false;
        }

        if (linger)
        {
            await LingerAsync(connection);
        }
        else if (refused)
        {
            await LingerRefusedAsync(connection);
        }
    }

    /// <summary>
    /// <c>Gateway:ProxyProtocol</c>: reads the balancer's PROXY header, which comes before anything else (haproxy
    /// doc/proxy-protocol.txt §2: the receiver must not guess whether it is there). A header naming the client puts
    /// its endpoint into the connection's <see cref="BaseConnectionContext.RemoteEndPoint"/>, so that everything after
    /// (<see cref="ConnectionClientAddress"/>, limits, logs) sees the client, not the balancer. False when the
    /// connection must end: no valid header within <c>ProxyProtocolTimeout</c> (counted as bad input, no answer — the
    /// protocol has none), or it closed or the gateway is stopping before one arrived.
    /// </summary>
    private async ValueTask<bool> ReadProxyHeaderAsync(ConnectionContext connection)
    {
        PipeReader input = connection.Transport.Input;
        using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(_runtime.Options.ProxyProtocolTimeout), _runtime.Time);
        string reason;
        try
        {
            while (true)
            {
                ReadResult result = await input.ReadAsync(deadline.Token);
                ReadOnlySequence<byte> buffer = result.Buffer;
                OperationStatus status = ProxyProtocolParser.TryParse(buffer, out ProxyHeader header, out ProtocolError error);
                if (status == OperationStatus.Done)
                {
                    // The request behind the header stays in the pipe for the read loop.
                    input.AdvanceTo(buffer.GetPosition(header.Length));
                    UseClientEndPoint(connection, header);
                    return true;
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                if (status == OperationStatus.InvalidData)
                {
                    reason = error.ToString();
                    break;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    return false; // the peer left (a TCP health check), or shutdown ended the wait
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            reason = "timeout";
        }

        _runtime.Metrics.ProtocolError();
        Log.ProxyHeaderRefused(_runtime.Logger, connection.ConnectionId, connection.RemoteEndPoint, reason);
        return false;
    }

    private void UseClientEndPoint(ConnectionContext connection, in ProxyHeader header)
    {
        EndPoint? proxy = connection.RemoteEndPoint;
        if (header.HasAddresses)
        {
            Span<byte> bytes = stackalloc byte[16];
            var address = new IPAddress(bytes.Slice(0, header.CopySourceAddress(bytes)));
            // One client, one address: an IPv4 client relayed as IPv6 (::ffff:a.b.c.d) counts as the IPv4 one.
            connection.RemoteEndPoint = new IPEndPoint(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, header.SourcePort);
        }

        // LOCAL (the balancer's own health check), UNKNOWN, AF_UNSPEC, AF_UNIX: the socket's peer stands (§2.1, §2.2).
        Log.ProxyHeaderRead(_runtime.Logger, connection.ConnectionId, connection.RemoteEndPoint, proxy, header.Version);
    }

    /// <summary>How long a closed WebSocket's input is drained, at most, waiting for the peer to close.</summary>
    private const int LingerTimeoutMs = 2000;

    /// <summary>
    /// After our close frame: half-close, then read and discard until the peer closes or <see cref="LingerTimeoutMs"/>
    /// passes (a lingering close, as Kestrel's and IIS's). Closing a socket whose receive queue still holds bytes makes
    /// the kernel answer with a reset instead of a FIN; a peer still sending (a message over MaxPayload is refused from
    /// its header, while its payload is on the way) then fails its next write and, as WebSocket clients do, aborts —
    /// before it has read the close frame. The drain is bounded and exists only while a connection closes: nothing is
    /// kept per connection at rest.
    /// </summary>
    private async Task LingerAsync(ConnectionContext connection)
    {
        PipeReader input = connection.Transport.Input;
        try
        {
            // RFC 6455 §7.1.1: the server closes the TCP connection first. The close frame was flushed before the read
            // loop was told to stop, so it is ahead of the FIN.
            connection.Features.Get<IConnectionSocketFeature>()?.Socket.Shutdown(SocketShutdown.Send);
            using var timeout = new CancellationTokenSource(LingerTimeoutMs);
            using CancellationTokenRegistration wake = timeout.Token.UnsafeRegister(static state => ((PipeReader)state!).CancelPendingRead(), input);
            while (true)
            {
                ReadResult result = await input.ReadAsync();
                input.AdvanceTo(result.Buffer.End);
                // A cancellation without the timeout is a leftover CancelPendingRead from the close itself.
                if (result.IsCompleted || timeout.IsCancellationRequested)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is ConnectionResetException or IOException or OperationCanceledException or ConnectionAbortedException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            Log.ConnectionReset(_runtime.Logger, connection.ConnectionId);
        }
    }

    /// <summary>Handles every complete request in the buffer. True when the connection must end.</summary>
    private bool ProcessRequests(HttpConnection http, ref ReadOnlySequence<byte> buffer, bool inputEnded, out WebSocketConnection? webSocket)
    {
        webSocket = null;
        GatewayOptions options = _runtime.Options;
        while (!buffer.IsEmpty)
        {
            long headLength = HttpRequestParser.FindHeadEnd(buffer);
            if (headLength < 0)
            {
                if (buffer.Length > options.MaxRequestHeadLength)
                {
                    RejectBadHttp(http, ProtocolError.RequestHeadTooLarge);
                    return true;
                }

                if (!EarlyRequestLineCheck(buffer))
                {
                    RejectBadHttp(http, ProtocolError.InvalidRequestLine);
                    return true;
                }

                http.OnPartialHead();
                return inputEnded;
            }

            if (headLength > options.MaxRequestHeadLength)
            {
                RejectBadHttp(http, ProtocolError.RequestHeadTooLarge);
                return true;
            }

            byte[]? rentedHead = null;
            byte[]? rentedBody = null;
            try
            {
                ReadOnlySpan<byte> headBytes;
                if (buffer.FirstSpan.Length >= headLength)
                {
                    headBytes = buffer.FirstSpan.Slice(0, (int)headLength);
                }
                else
                {
                    rentedHead = BufferPool.Rent((int)headLength);
                    buffer.Slice(0, headLength).CopyTo(rentedHead);
                    headBytes = rentedHead.AsSpan(0, (int)headLength);
                }

                if (HttpRequestParser.TryParse(headBytes, options.MaxRequestHeadLength, out HttpRequestHead head, out ProtocolError error) != OperationStatus.Done)
                {
                    RejectBadHttp(http, error);
                    return true;
                }

                if (!http.OnHeadReceived())
                {
                    return true; // timed out meanwhile
                }

                if (!http.SentHead)
                {
                    // A head: from now on a client, not a connection to evict at the cap.
                    http.SentHead = true;
                    _fresh.Remove(http);
                }

                if (!head.TransferEncoding.IsEmpty)
                {
                    // Polling clients send Content-Length; chunked request bodies are not accepted here.
                    RejectBadHttp(http, ProtocolError.InvalidContentLength);
                    return true;
                }

                long bodyLength = Math.Max(0, head.ContentLength);
                bool tooLarge = bodyLength > options.MaxPayload;
                if (!tooLarge && buffer.Length < headLength + bodyLength)
                {
                    // Wait for the body, within its deadline and the memory incomplete bodies may hold together; a POST
                    // on a session is in progress from now on (engine.io's dataReq).
                    if (!http.OnPartialBody(bodyLength, buffer.Length - headLength))
                    {
                        return http.Refuse(RefusalReason.PendingBodyBytes);
                    }

                    return !TryBeginDataRequest(http, ref head) || inputEnded;
                }

                http.OnBodyDone();

                ReadOnlySpan<byte> body = default;
                if (!tooLarge && bodyLength > 0)
                {
                    ReadOnlySequence<byte> bodySequence = buffer.Slice(headLength, bodyLength);
                    if (bodySequence.IsSingleSegment)
                    {
                        body = bodySequence.FirstSpan;
                    }
                    else
                    {
                        rentedBody = BufferPool.Rent((int)bodyLength);
                        bodySequence.CopyTo(rentedBody);
                        body = rentedBody.AsSpan(0, (int)bodyLength);
                    }
                }

                bool stop = HandleRequest(http, ref head, body, tooLarge, out webSocket);
                if (tooLarge)
                {
                    buffer = buffer.Slice(buffer.End);
                    return true;
                }

                buffer = buffer.Slice(headLength + bodyLength);
                if (stop || webSocket is not null || http.CloseAfterResponse)
                {
                    return true;
                }
            }
            finally
            {
                if (rentedHead is not null)
                {
                    BufferPool.Return(rentedHead);
                }

                if (rentedBody is not null)
                {
                    BufferPool.Return(rentedBody);
                }
            }
        }

        return inputEnded;
    }

    /// <summary>
    /// A POST to a polling session whose body is still arriving: registers it with the session. False (after a 400)
    /// when another POST is already in progress there.
    /// </summary>
    private bool TryBeginDataRequest(HttpConnection http, ref HttpRequestHead head)
    {
        if (http.DataFor is not null || head.Method != HttpMethod.Post || head.IsWebSocketUpgrade || !PathMatches(head.Path) ||
            !HttpRequestParser.TryGetQueryValue(head.Query, "transport"u8, out ReadOnlySpan<byte> transport) || !transport.SequenceEqual("polling"u8) ||
            !IsSupportedProtocol(head.Query) || !HttpRequestParser.TryGetQueryValue(head.Query, "sid"u8, out ReadOnlySpan<byte> sid) ||
            !_runtime.TryGetSession(sid, out EngineSession? session))
        {
            return true; // verified (and answered) once the body is complete
        }

        if (session!.TryBeginDataRequest(http))
        {
            return true;
        }

        http.KeepAlive = head.KeepAlive;
        ApplyCors(http, head.Origin);
        return !Reject(http, upgrade: false, EngineIOError.BadRequest);
    }

    // A request line that is already wrong need not wait for the rest of the head.
    private static bool EarlyRequestLineCheck(in ReadOnlySequence<byte> buffer)
    {
        ReadOnlySpan<byte> first = buffer.FirstSpan;
        int newline = first.IndexOf((byte)'\n');
        if (newline < 0)
        {
            return true;
        }

        return HttpRequestParser.TryParse(first.Slice(0, newline + 1), int.MaxValue, out _, out ProtocolError error) != OperationStatus.InvalidData ||
            error != ProtocolError.InvalidRequestLine;
    }

    private void RejectBadHttp(HttpConnection http, ProtocolError error)
    {
        _runtime.Metrics.ProtocolError();
        Log.BadInput(_runtime.Logger, http.Context.ConnectionId, error.ToString());
        http.KeepAlive = false;
        http.AllowedOrigin = null;
        http.Respond(error == ProtocolError.RequestHeadTooLarge ? 431 : 400, "text/plain"u8, "Bad Request"u8);
    }

    /// <summary>One parsed request. True when the connection must end after it.</summary>
    private bool HandleRequest(HttpConnection http, ref HttpRequestHead head, ReadOnlySpan<byte> body, bool bodyTooLarge, out WebSocketConnection? webSocket)
    {
        webSocket = null;
        http.KeepAlive = head.KeepAlive;
        ApplyCors(http, head.Origin);
        bool upgrade = head.IsWebSocketUpgrade;

        if (_peerRequests is not null && !upgrade && head.Method == HttpMethod.Post && head.Path.StartsWith(RegionPath))
        {
            return ServeRegionStep(http, ref head);
        }

        if (_demo is not null && !upgrade && IsUnder(head.Path, DemoPath))
        {
            return ServeFile(http, ref head, _demo, DemoPath);
        }

        if (!PathMatches(head.Path))
        {
            http.Respond(404, "text/plain"u8, "Not Found"u8);
            return true;
        }

        if (upgrade && !head.Origin.IsEmpty && _runtime.CorsOrigins.Length > 0 && http.AllowedOrigin is null)
        {
            // Cross-site WebSocket hijacking: browsers send Origin on an upgrade and enforce no CORS on its answer.
            return http.Refuse(RefusalReason.Origin);
        }

        if (head.Method == HttpMethod.Options && _runtime.Options.Cors.Origins.Count > 0)
        {
            RespondPreflight(http, head.AccessControlRequestHeaders);
            return false;
        }

        HttpRequestParser.TryGetQueryValue(head.Query, "transport"u8, out ReadOnlySpan<byte> transport);
        bool isWebSocket = transport.SequenceEqual("websocket"u8);
        bool isPolling = transport.SequenceEqual("polling"u8);
        if (!isWebSocket && !isPolling)
        {
            return Reject(http, upgrade, EngineIOError.UnknownTransport);
        }

        if (HttpRequestParser.TryGetQueryValue(head.Query, "sid"u8, out ReadOnlySpan<byte> sid))
        {
            if (!_runtime.TryGetSession(sid, out EngineSession? session) || session!.ExpireIfOverdue())
            {
                if (session is null && FindHolder(sid) is { } holder)
                {
                    // Another gateway of the region holds it: a poll goes there, an upgrade takes the session over.
                    return upgrade
                        ? isWebSocket ? AcceptRemoteUpgrade(http, ref head, holder, sid, out webSocket) : Reject(http, upgrade, EngineIOError.BadRequest)
                        : Forward(http, ref head, holder, body, bodyTooLarge);
                }

                return Reject(http, upgrade, EngineIOError.UnknownSid);
            }

            // The protocol revision is checked on every request, not only on the handshake: a session is EIO=4 only.
            if (!IsSupportedProtocol(head.Query))
            {
                return Reject(http, upgrade, EngineIOError.UnsupportedProtocolVersion);
            }

            if (!upgrade && (isWebSocket || session.IsWebSocket))
            {
                return Reject(http, upgrade, EngineIOError.BadRequest); // engine.io TRANSPORT_MISMATCH
            }

            if (upgrade)
            {
                return isWebSocket ? AcceptUpgrade(http, ref head, session, out webSocket) : Reject(http, upgrade, EngineIOError.BadRequest);
            }

            return HandlePoll(http, head.Method, session, body, bodyTooLarge);
        }

        // A handshake: GET only; a WebSocket handshake must be an upgrade; EIO=4 only.
        if (head.Method != HttpMethod.Get)
        {
            return Reject(http, upgrade, EngineIOError.BadHandshakeMethod);
        }

        if (isWebSocket && !upgrade)
        {
            return Reject(http, upgrade, EngineIOError.BadRequest);
        }

        if (!IsSupportedProtocol(head.Query))
        {
            return Reject(http, upgrade, EngineIOError.UnsupportedProtocolVersion);
        }

        if (isPolling && upgrade)
        {
            return Reject(http, upgrade, EngineIOError.BadRequest);
        }

        // Admission, before any session state: the cap, the accept rate, the address, handshakes per connection.
        if (_runtime.Admission.AdmitSession(ref http.Quota, isPolling, out ClientAddress? sessionAddress) is RefusalReason refused)
        {
            return http.Refuse(refused);
        }

        try
        {
            if (isPolling)
            {
                var session = EngineSession.ForPolling(_runtime);
                session.HoldAddress(sessionAddress);
                session.Start();
                PooledBufferWriter open = new(256);
                session.WriteOpenPacket(open);
                RecordHandshake(http.RequestStartedAt);
                http.Respond(200, "text/plain; charset=UTF-8"u8, open.WrittenSpan);
                open.Dispose();
                return false;
            }

            long startedAt = http.RequestStartedAt; // the 101 ends the request
            if (!TryWriteSwitchingProtocols(http, ref head))
            {
                return true;
            }

            RecordHandshake(startedAt);
            ConnectionContext context = http.Context;
            var direct = new EngineSession(_runtime, webSocket: true, http.Output, context.Transport.Input);
            direct.SendOpenPacket();
            direct.Start();
            webSocket = new WebSocketConnection(_runtime, context, http.Output, direct);
            return false;
        }
        finally
        {
            // Started (counted as a session) or failed: the admission's reservation goes either way.
            _runtime.Admission.SessionStarted();
        }
    }

    /// <summary>The handshake histogram: from the request's first byte (0: unknown, not recorded) to now.</summary>
    private void RecordHandshake(long requestStartedAt)
    {
        if (requestStartedAt != 0)
        {
            _runtime.Metrics.Handshake(Stopwatch.GetElapsedTime(requestStartedAt).TotalSeconds);
        }
    }

    private bool HandlePoll(HttpConnection http, HttpMethod method, EngineSession session, ReadOnlySpan<byte> body, bool bodyTooLarge)
    {
        if (method == HttpMethod.Get)
        {
            EngineSession.PollOutcome outcome = session.OnPollRequest(http);
            if (outcome == EngineSession.PollOutcome.BadRequest)
            {
                return Reject(http, upgrade: false, EngineIOError.BadRequest);
            }

            return false;
        }

        if (method == HttpMethod.Post)
        {
            if (bodyTooLarge)
            {
                _runtime.Metrics.ProtocolError();
                session.Close(CloseReason.PayloadTooLarge, clientInitiated: false);
                http.KeepAlive = false;
                http.Respond(413, "text/plain"u8, "Payload Too Large"u8);
                return true;
            }

            if (session.OnPollData(http, body) == EngineSession.PollOutcome.BadRequest)
            {
                return Reject(http, upgrade: false, EngineIOError.BadRequest);
            }

            http.Respond(200, "text/html"u8, "ok"u8);
            return false;
        }

        // engine.io's polling transport (onRequest): neither GET nor POST is answered 500 without a body; the
        // session stays.
        http.KeepAlive = false;
        http.Respond(500, default, default);
        return true;
    }

    private static bool IsSupportedProtocol(ReadOnlySpan<byte> query) =>
        HttpRequestParser.TryGetQueryValue(query, "EIO"u8, out ReadOnlySpan<byte> eio) && eio.SequenceEqual("4"u8);

    private bool AcceptUpgrade(HttpConnection http, ref HttpRequestHead head, EngineSession session, out WebSocketConnection? webSocket)
    {
        webSocket = null;
        if (!TryWriteSwitchingProtocols(http, ref head))
        {
            return true;
        }

        var probe = new WebSocketConnection(_runtime, http.Context, http.Output, session: null);
        if (!session.TryBeginProbe(probe))
        {
            // engine.io completes the handshake, then closes: the session is already upgrading or upgraded.
            probe.CloseProbe(WebSocketCloseCode.NormalClosure);
            return true;
        }

        probe.SetProbeTarget(session);
        webSocket = probe;
        return false;
    }

    /// <summary>RFC 6455 §4.2.2 checks, then the 101 response. False (after a 400) when the handshake is bad.</summary>
    private bool TryWriteSwitchingProtocols(HttpConnection http, ref HttpRequestHead head)
    {
        if (head.Method != HttpMethod.Get || !head.IsHttp11)
        {
            return Reject(http, upgrade: true, EngineIOError.BadRequest) && false;
        }

        if (!head.SecWebSocketVersion.SequenceEqual("13"u8))
        {
            // RFC 6455 §4.4: a version the server does not speak gets 426 and the versions it does speak; a missing
            // header is a malformed handshake (§4.2.2: 400), told the same.
            RejectUpgrade(
                http,
                "Missing or invalid Sec-WebSocket-Version header"u8,
                head.SecWebSocketVersion.IsEmpty ? "400 Bad Request"u8 : "426 Upgrade Required"u8,
                "Sec-WebSocket-Version: 13\r\n"u8);
            return false;
        }

        if (!WebSocketHandshake.IsValidKey(head.SecWebSocketKey))
        {
            RejectUpgrade(http, "Missing or invalid Sec-WebSocket-Key header"u8);
            return false;
        }

        Span<byte> accept = stackalloc byte[WebSocketHandshake.AcceptKeyLength];
        WebSocketHandshake.ComputeAcceptKey(head.SecWebSocketKey, accept);
        var response = new PooledBufferWriter(160);
        response.WriteBytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "u8);
        response.WriteBytes(accept);
        response.WriteBytes("\r\n\r\n"u8);
        http.WriteRaw(response.WrittenSpan, close: false);
        response.Dispose();
        return true;
    }

    /// <summary>engine.io's answer to a bad request: JSON 400 for HTTP, a plain 400 before a WebSocket upgrade.</summary>
    private bool Reject(HttpConnection http, bool upgrade, EngineIOError error)
    {
        if (upgrade)
        {
            RejectUpgrade(http, ErrorMessage(error));
            return true;
        }

        // engine.io's body: {"code":N,"message":"…"}.
        var body = new PooledBufferWriter(64);
        body.WriteBytes("{\"code\":"u8);
        body.WriteInt64((int)error);
        body.WriteBytes(",\"message\":\""u8);
        body.WriteBytes(ErrorMessage(error));
        body.WriteBytes("\"}"u8);
        http.KeepAlive = false;
        http.Respond(error == EngineIOError.Forbidden ? 403 : 400, "application/json"u8, body.WrittenSpan);
        body.Dispose();
        return true;
    }

    private static void RejectUpgrade(HttpConnection http, ReadOnlySpan<byte> message) =>
        RejectUpgrade(http, message, "400 Bad Request"u8, default);

    private static void RejectUpgrade(HttpConnection http, ReadOnlySpan<byte> message, ReadOnlySpan<byte> status, ReadOnlySpan<byte> extraHeaders)
    {
        var response = new PooledBufferWriter(256);
        response.WriteBytes("HTTP/1.1 "u8);
        response.WriteBytes(status);
        response.WriteBytes("\r\nConnection: close\r\n"u8);
        response.WriteBytes(extraHeaders);
        response.WriteBytes("Content-type: text/html\r\nContent-Length: "u8);
        response.WriteInt64(message.Length);
        response.WriteBytes("\r\n\r\n"u8);
        response.WriteBytes(message);
        http.WriteRaw(response.WrittenSpan, close: true);
        response.Dispose();
    }

    private bool PathMatches(ReadOnlySpan<byte> path)
    {
        ReadOnlySpan<byte> expected = _runtime.PathBytes;
        // "/socket.io/" and "/socket.io" both reach engine.io.
        return path.SequenceEqual(expected) || path.SequenceEqual(expected.Slice(0, expected.Length - 1));
    }

    private void ApplyCors(HttpConnection http, ReadOnlySpan<byte> origin)
    {
        http.AllowedOrigin = null;
        http.AllowCredentials = _runtime.Options.Cors.Credentials;
        if (origin.IsEmpty || _runtime.CorsOrigins.Length == 0)
        {
            return;
        }

        foreach (byte[] allowed in _runtime.CorsOrigins)
        {
            if (origin.SequenceEqual(allowed))
            {
                http.AllowedOrigin = allowed;
                return;
            }
        }

        if (_runtime.CorsAnyOrigin)
        {
            // With credentials the browser needs the origin itself, never "*".
            http.AllowedOrigin = http.AllowCredentials ? origin.ToArray() : "*"u8.ToArray();
        }
    }

    private static void RespondPreflight(HttpConnection http, ReadOnlySpan<byte> requestedHeaders)
    {
        var headers = new PooledBufferWriter(256);
        headers.WriteBytes("Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\n"u8);
        if (!requestedHeaders.IsEmpty)
        {
            headers.WriteBytes("Access-Control-Allow-Headers: "u8);
            headers.WriteBytes(requestedHeaders);
            headers.WriteBytes("\r\n"u8);
        }

        http.Respond(204, default, default, headers.WrittenSpan);
        headers.Dispose();
    }
}
