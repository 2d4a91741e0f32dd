using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Net.Http.Headers;
using System.Text.Json;
using Gateway.Configuration;
using Gateway.EngineIO;
using Gateway.Protocol.Proxy;
using Gateway.Region;

namespace Gateway.Transport;

/// <summary>
/// Requests from this gateway to another of its region, on pooled keep-alive connections to that gateway's public
/// port: a client's polling request forwarded to the gateway that holds its session, and the three steps of a
/// handover (probe, take the session, give up). The handover steps carry a MAC keyed with the region's secret
/// (<see cref="IRegionPeers.Sign"/>), so no client can ask for them.
/// </summary>
/// <remarks>
/// A cold path next to the broadcast: polling requests of sessions held elsewhere and one handover per upgrade. With
/// <c>Gateway:ProxyProtocol</c> each connection starts with a PROXY v2 LOCAL header, as the peer's port requires.
/// </remarks>
internal sealed class PeerRequests : IDisposable
{
    /// <summary>The path of the handover steps on the public port (<c>/gateway-region/{probe|handover|abort}</c>).</summary>
    public const string RegionPath = "/gateway-region/";

    private const int StepTimeoutMs = 10_000;

    private readonly HttpClient _client;
    private readonly IRegionPeers _peers;
    private readonly int _pollTimeoutMs;

    public PeerRequests(GatewayOptions options, IRegionPeers peers)
    {
        _peers = peers;
        // A held GET lasts up to a heartbeat: the peer answers it by then (a ping at the latest).
        _pollTimeoutMs = options.PingInterval + options.PingTimeout + StepTimeoutMs;
        var handler = new SocketsHttpHandler
        {
            // Idle connections are given up before the peer's RequestHeadTimeout would close them under a request.
            PooledConnectionIdleTimeout = TimeSpan.FromMilliseconds(Math.Max(500, options.Limits.RequestHeadTimeout / 2)),
            ConnectTimeout = TimeSpan.FromSeconds(2),
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        if (options.ProxyProtocol)
        {
            // The peer's public port expects a PROXY header first, as from the balancer: a LOCAL one (no client).
            handler.ConnectCallback = ConnectWithLocalProxyHeaderAsync;
        }

        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    private static async ValueTask<Stream> ConnectWithLocalProxyHeaderAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            var header = new ArrayBufferWriter<byte>(16);
            ProxyProtocolWriter.WriteV2(header, new ProxyHeader(16, 2, ProxyCommand.Local, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified), tlvs: default);
            await socket.SendAsync(header.WrittenMemory, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends a client's polling request (<paramref name="target"/> = path and query as received) to the gateway that
    /// holds its session. Null when that gateway cannot be reached (gone: the client is told its session is unknown).
    /// </summary>
    public async Task<ForwardedResponse?> ForwardAsync(RegionPeer peer, bool post, string target, byte[]? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(post ? HttpMethod.Post : HttpMethod.Get, "http://" + peer.Advertise + target);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "UTF-8" };
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_pollTimeoutMs);
        try
        {
            using HttpResponseMessage response = await _client.SendAsync(request, timeout.Token).ConfigureAwait(false);
            byte[] content = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            return new ForwardedResponse((int)response.StatusCode, response.Content.Headers.ContentType?.ToString(), content);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            return null;
        }
    }

    /// <summary>Asks the session's gateway to let a WebSocket here probe it (its held poll ends). False: it cannot.</summary>
    public async Task<bool> ProbeAsync(RegionPeer peer, string sid) =>
        await StepAsync(peer, "probe", sid).ConfigureAwait(false) is not null;

    /// <summary>Takes the session from its gateway (the client sent "5" here). Null: it could not be handed over.</summary>
    public async Task<HandoverState?> HandOverAsync(RegionPeer peer, string sid)
    {
        byte[]? body = await StepAsync(peer, "handover", sid).ConfigureAwait(false);
        if (body is null)
        {
            return null;
        }

        try
        {
            HandoverState? state = JsonSerializer.Deserialize<HandoverState>(body, HandoverState.Json);
            return state is { IsWellFormed: true } && state.Sid == sid ? state : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The WebSocket here ended before taking the session: it stays on polling there.</summary>
    public Task AbortAsync(RegionPeer peer, string sid) => StepAsync(peer, "abort", sid);

    // One handover step: 200 and its body, or null.
    private async Task<byte[]?> StepAsync(RegionPeer peer, string operation, string sid)
    {
        if (_peers.Sign(operation, sid) is not { } mac)
        {
            return null;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://{peer.Advertise}{RegionPath}{operation}?sid={sid}&mac={mac}");
        using var timeout = new CancellationTokenSource(StepTimeoutMs);
        try
        {
            using HttpResponseMessage response = await _client.SendAsync(request, timeout.Token).ConfigureAwait(false);
            byte[] body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            return response.StatusCode == HttpStatusCode.OK ? body : null;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            return null;
        }
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>A forwarded polling request's answer from the session's gateway.</summary>
internal readonly record struct ForwardedResponse(int Status, string? ContentType, byte[] Body);
