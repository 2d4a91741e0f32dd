using System.Text;
using System.Text.Json;
using Gateway.EngineIO;
using Gateway.Protocol.Http;
using Gateway.Region;
using HttpMethod = Gateway.Protocol.Http.HttpMethod;

namespace Gateway.Transport;

/// <summary>
/// Any gateway of a region serves any request of a session, behind a balancer without stickiness: a session id names
/// the gateway that holds the session; a polling request for it is forwarded there and its answer relayed; a
/// WebSocket upgrade takes the session over, so that it lives where its WebSocket is (<see cref="RemoteSession"/>).
/// The holder's side of a handover is served here too, on the public port, to requests carrying the region's MAC.
/// </summary>
internal sealed partial class GatewayConnectionHandler
{
    private static ReadOnlySpan<byte> RegionPath => "/gateway-region/"u8;

    /// <summary>The live gateway of the region that holds session <paramref name="sid"/>, when not this one.</summary>
    private RegionPeer? FindHolder(ReadOnlySpan<byte> sid)
    {
        string? local = _runtime.Peers.LocalInstance;
        if (_peerRequests is null || local is null)
        {
            return null;
        }

        ReadOnlySpan<byte> instance = SessionIds.InstanceOf(sid, local.Length);
        if (instance.IsEmpty)
        {
            return null;
        }

        Span<char> name = stackalloc char[instance.Length];
        for (int i = 0; i < instance.Length; i++)
        {
            name[i] = (char)instance[i];
        }

        return name.SequenceEqual(local) ? null : _runtime.Peers.Find(name);
    }

    /// <summary>
    /// Sends a polling request to the gateway holding its session; the answer is written when it arrives (the
    /// connection waits as for a held poll). Its client's connection ending first cancels it, and the holder sees a
    /// poll connection closed, as if the client had been its own.
    /// </summary>
    private bool Forward(HttpConnection http, ref HttpRequestHead head, RegionPeer holder, ReadOnlySpan<byte> body, bool bodyTooLarge)
    {
        if (bodyTooLarge)
        {
            _runtime.Metrics.ProtocolError();
            http.KeepAlive = false;
            http.Respond(413, "text/plain"u8, "Payload Too Large"u8);
            return true;
        }

        bool post = head.Method == HttpMethod.Post;
        if (!post && head.Method != HttpMethod.Get)
        {
            http.KeepAlive = false;
            http.Respond(500, default, default); // as the holder would answer (engine.io's polling onRequest)
            return true;
        }

        string target = Encoding.ASCII.GetString(head.Path) + "?" + Encoding.ASCII.GetString(head.Query);
        var forwarding = new CancellationTokenSource();
        http.AnswerPending = forwarding;
        _ = RelayAsync(http, holder, post, target, post ? body.ToArray() : null, forwarding);
        return false;
    }

    private async Task RelayAsync(HttpConnection http, RegionPeer holder, bool post, string target, byte[]? body, CancellationTokenSource forwarding)
    {
        ForwardedResponse? answer = await _peerRequests!.ForwardAsync(holder, post, target, body, forwarding.Token).ConfigureAwait(false);
        // Not disposed: the read loop may still cancel it as its connection ends (it has no timer to free).
        http.AnswerPending = null;
        _runtime.Metrics.RegionForwarded(answer is not null);
        if (forwarding.IsCancellationRequested)
        {
            return; // the client's connection ended
        }

        try
        {
            if (answer is not { } response || !IsRelayable(response.Status))
            {
                // The holder is gone (or answered nonsense): to the client its session is unknown, as socket.io says
                // when a server lost it; the client reconnects and recovers elsewhere.
                Reject(http, upgrade: false, EngineIOError.UnknownSid);
            }
            else
            {
                http.Respond(response.Status, response.ContentType is { } type ? Encoding.ASCII.GetBytes(type) : default, response.Body);
            }

            if (http.CloseAfterResponse)
            {
                http.Abort(); // the read loop is waiting for the next request: it ends now
            }
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or IOException)
        {
            // The connection ended while the answer was written.
        }
    }

    /// <summary>How long a handover waits for the session's CONNECTs (under the taking gateway's step timeout).</summary>
    private static readonly TimeSpan HandoverSettleLimit = TimeSpan.FromSeconds(5);

    private async Task HandOverWhenSettledAsync(HttpConnection http, EngineSession session, CancellationTokenSource waiting)
    {
        try
        {
            await session.ConnectsSettled().WaitAsync(HandoverSettleLimit, waiting.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
        }

        http.AnswerPending = null;
        if (waiting.IsCancellationRequested)
        {
            return; // the taking gateway gave up
        }

        try
        {
            if (session.HandOver() is { } state)
            {
                http.Respond(200, "application/json"u8, JsonSerializer.SerializeToUtf8Bytes(state, HandoverState.Json));
            }
            else
            {
                Reject(http, upgrade: false, EngineIOError.BadRequest);
                http.Abort();
            }
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or IOException)
        {
            // The connection ended while the answer was written.
        }
    }

    private static bool IsRelayable(int status) => status is 200 or 400 or 403 or 413 or 500 or 503;

    /// <summary>A WebSocket upgrade of a session another gateway holds: this connection probes it, then takes it over.</summary>
    private bool AcceptRemoteUpgrade(HttpConnection http, ref HttpRequestHead head, RegionPeer holder, ReadOnlySpan<byte> sid, out WebSocketConnection? webSocket)
    {
        webSocket = null;
        if (!_runtime.OffersRecovery || _runtime.Drain.RefusesSessions)
        {
            // Without recovery a handed-over socket could not be told what it missed; a draining gateway takes no
            // session over. Either way the client stays on polling, served by the session's gateway.
            return Reject(http, upgrade: true, EngineIOError.BadRequest);
        }

        if (!TryWriteSwitchingProtocols(http, ref head))
        {
            return true;
        }

        var probe = new WebSocketConnection(_runtime, http.Context, http.Output, session: null);
        probe.SetProbeTarget(new RemoteSession(_peerRequests!, holder, Encoding.ASCII.GetString(sid)));
        webSocket = probe;
        return false;
    }

    /// <summary>
    /// The holder's side of a handover, asked by the gateway where the session's WebSocket landed: <c>probe</c> (a held
    /// poll ends; 200), <c>handover</c> (200 and the session's state as JSON; the session ends here), <c>abort</c>.
    /// 400 when the session cannot be probed or handed over; 404 without the region's MAC (never a client's feature).
    /// </summary>
    private bool ServeRegionStep(HttpConnection http, ref HttpRequestHead head)
    {
        string operation = Encoding.ASCII.GetString(head.Path.Slice(RegionPath.Length));
        if (!HttpRequestParser.TryGetQueryValue(head.Query, "sid"u8, out ReadOnlySpan<byte> sidBytes) ||
            !HttpRequestParser.TryGetQueryValue(head.Query, "mac"u8, out ReadOnlySpan<byte> mac) ||
            operation is not ("probe" or "handover" or "abort") ||
            !_runtime.Peers.Verify(operation, Encoding.ASCII.GetString(sidBytes), mac))
        {
            http.KeepAlive = false;
            http.Respond(404, "text/plain"u8, "Not Found"u8);
            return true;
        }

        if (!_runtime.TryGetSession(sidBytes, out EngineSession? session) || session!.ExpireIfOverdue())
        {
            return Reject(http, upgrade: false, EngineIOError.UnknownSid);
        }

        switch (operation)
        {
            case "probe":
                if (!session.TryBeginRemoteProbe(new RemoteProbe()))
                {
                    return Reject(http, upgrade: false, EngineIOError.BadRequest);
                }

                http.Respond(200, "text/plain"u8, "ok"u8);
                return false;
            case "handover":
                // A CONNECT still waiting for its recovery (it came while the probe ran) is let finish first: its reply
                // goes over with the session. Refusing instead would make the client reconnect, and the recovery
                // that had claimed its pid would be lost to it.
                var waiting = new CancellationTokenSource();
                http.AnswerPending = waiting;
                _ = HandOverWhenSettledAsync(http, session, waiting);
                return false;
            default:
                session.AbortRemoteProbe();
                http.Respond(200, "text/plain"u8, "ok"u8);
                return false;
        }
    }
}
