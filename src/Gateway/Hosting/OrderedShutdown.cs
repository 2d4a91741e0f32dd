using Gateway.Diagnostics;
using Gateway.EngineIO;
using Gateway.Transport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Hosting;

/// <summary>
/// The ordered shutdown (SIGTERM): readiness 503 and new sessions refused at once → the paced drain (after
/// <c>Drain:Delay</c>, every session closed in its turn across <c>Drain:Window</c>, each leaving its recovery record)
/// → HTTP connections ended → recovery records flushed to Redis; then the other hosted services stop.
/// </summary>
/// <remarks>
/// The sequence runs in <see cref="StoppingAsync"/>, which the host calls before any hosted service's
/// <c>StopAsync</c>: the web host (the admin port: <c>/readyz</c>, stats, metrics) is registered last by
/// <c>WebApplicationBuilder</c> and so stops first; during the drain it must still answer, and the public listener,
/// the fan-out and Redis's loops must still run so that prompts keep reaching the sessions not yet closed. The host's
/// <c>ShutdownTimeout</c> is set above Delay + Window (<see cref="GatewayApp"/>); should it expire anyway, the sessions
/// left are closed at once and the sequence goes on.
/// </remarks>
internal sealed class OrderedShutdown(GatewayRuntime runtime, GatewayConnectionHandler handler, ILogger<OrderedShutdown> logger) : IHostedLifecycleService
{
    /// <summary>Time the host gives the steps after the drain (ending HTTP connections, flushing records, stopping loops).</summary>
    public static readonly TimeSpan AfterDrain = TimeSpan.FromSeconds(10);

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        // 1 + 2. Readiness 503 and 503 to new handshakes from here on; the paced closes after the delay. An operator's
        // drain (POST /v1/drain) already in progress goes on as it was, and can no longer be undone.
        runtime.Drain.Begin(forShutdown: true);
        try
        {
            await runtime.Drain.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Log.DrainCutShort(logger, runtime.Metrics.Connections);
        }

        // 3. What the drain did not reach (the timeout cut it short), then the HTTP connections: parked polls were
        // answered by their session's close; idle keep-alive ones would otherwise hold the listener's stop.
        runtime.Stopping = true;
        runtime.CloseAll(CloseReason.ServerShutdown);
        handler.EndHttpConnections();

        // 4. Each close queued its session record; they must be in Redis before the process ends (and before the
        // Redis loops stop).
        runtime.Recovery.Flush();
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
