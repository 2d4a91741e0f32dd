using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

/// <summary>
/// Pays the first-request costs at start instead of at the show's first prompt. ASP.NET Core builds the admin port's
/// route matcher and its endpoints' request delegates on the first request, and the JIT compiles each path the first
/// time it runs: measured, the first <c>POST /v1/publish</c> of a fresh gateway took 166 ms against 1–2 ms for the
/// third, and every viewer of the first prompt waited for it.
/// </summary>
/// <remarks>
/// Once every port is bound (the host's "started" step, before systemd hears <c>READY=1</c>), over loopback to the
/// admin port: <c>GET /healthz</c>, <c>GET /readyz</c>, and a publish to a namespace no gateway can have, which the
/// admin API refuses with 400 before anything is published or counted. Then one prompt is encoded outside the ring
/// (<see cref="Broadcaster.Encode"/>). Nothing reaches the ring, the prompt history, a socket or a metric. A warm-up
/// that fails is logged and changes nothing else.
/// </remarks>
internal sealed class AdminWarmup(IOptions<GatewayOptions> options, BroadcastContext context, ILogger<AdminWarmup> logger) : IHostedLifecycleService
{
    /// <summary>A namespace name cannot lack the leading slash: no configuration has this one.</summary>
    private const string RefusedNamespace = "warm-up";

    /// <summary>The event's arguments of the refused publish and of the prompt encoded outside the ring.</summary>
    private const string SampleArguments = """[{"q":"warm-up","choices":["a","b"]}]""";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        GatewayOptions o = options.Value;
        var endPoint = new IPEndPoint(Loopback(IPAddress.Parse(o.AdminBindAddress)), o.AdminPort);
        string authorization = string.IsNullOrEmpty(o.AdminToken) ? "" : $"Authorization: Bearer {o.AdminToken}\r\n";
        long started = Stopwatch.GetTimestamp();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            int health = await RequestAsync(endPoint, "GET", "/healthz", "", "", timeout.Token).ConfigureAwait(false);
            int readiness = await RequestAsync(endPoint, "GET", "/readyz", "", "", timeout.Token).ConfigureAwait(false);
            string body = $$"""{"namespace":"{{RefusedNamespace}}","channel":"warm-up","event":"prompt","data":{{SampleArguments}}}""";
            int publish = await RequestAsync(endPoint, "POST", "/v1/publish", authorization, body, timeout.Token).ConfigureAwait(false);

            using JsonDocument arguments = JsonDocument.Parse(SampleArguments);
            context.Broadcaster.Encode(0, "prompt", arguments.RootElement, offset: null);

            Log.WarmedUp(logger, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, health, readiness, publish);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            Log.WarmUpFailed(logger, ex.Message);
        }
    }

    /// <summary>The admin port bound to every address is reached on the loopback address of its family.</summary>
    private static IPAddress Loopback(IPAddress bound) =>
        bound.Equals(IPAddress.Any) ? IPAddress.Loopback : bound.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : bound;

    /// <summary>One HTTP/1.1 request on its own connection; the status code of the answer (0: none).</summary>
    private static async Task<int> RequestAsync(IPEndPoint endPoint, string method, string path, string headers, string body, CancellationToken cancellationToken)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
        string contentHeaders = body.Length == 0 ? "" : $"Content-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n";
        byte[] request = Encoding.UTF8.GetBytes($"{method} {path} HTTP/1.1\r\nHost: {endPoint}\r\n{headers}{contentHeaders}Connection: close\r\n\r\n{body}");
        await socket.SendAsync(request, SocketFlags.None, cancellationToken).ConfigureAwait(false);

        // "HTTP/1.1 200 …": read the whole answer (the server closes after it), keep the status line's code.
        var buffer = new byte[4096];
        int length = 0;
        int read;
        while ((read = await socket.ReceiveAsync(buffer.AsMemory(Math.Min(length, buffer.Length - 1)), SocketFlags.None, cancellationToken).ConfigureAwait(false)) > 0)
        {
            length = Math.Min(length + read, buffer.Length - 1);
        }

        return length >= 12 && int.TryParse(buffer.AsSpan(9, 3), out int status) ? status : 0;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
