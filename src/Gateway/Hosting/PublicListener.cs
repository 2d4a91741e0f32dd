using System.Net;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.EngineIO;
using Gateway.Region;
using Gateway.Transport;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Hosting;

/// <summary>
/// The public port: Kestrel's socket transport (its sockets, pipes and memory pool, configured by <c>UseSockets</c>)
/// accepting straight into <see cref="GatewayConnectionHandler"/>, without KestrelServer's connection manager. That
/// manager walks every connection once a second for timeouts this port does not use (the sessions keep their own
/// heartbeat): at 18,000 idle sockets the walk was ≈ 14 % of the gateway's idle CPU, and each connection paid for its
/// bookkeeping (a <c>KestrelConnection</c>, its execution state machine, a weak reference and a dictionary entry).
/// It also caps the connections (<c>Gateway:MaxConnections</c>) so that the process never runs out of descriptors.
/// </summary>
internal sealed class PublicListener(IConnectionListenerFactory transport, GatewayConnectionHandler handler, GatewayRuntime runtime, AdvertisedAddress advertised, ILogger<PublicListener> logger) : IHostedService
{
    private IConnectionListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private int _active;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;
    private long _lastAcceptErrorLog;

    /// <summary>Descriptors kept free for everything but client sockets: Redis, the admin port, the runtime itself.</summary>
    internal const int DescriptorReserve = 128;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        GatewayOptions options = runtime.Options;
        int descriptors = OpenFiles.SocketsThatFit(DescriptorReserve);
        int maxConnections = options.MaxConnections > 0 ? options.MaxConnections : descriptors;
        runtime.Admission.SetMaxConnections(maxConnections, descriptors);
        _listener = await transport.BindAsync(new IPEndPoint(IPAddress.Parse(options.BindAddress), options.Port), cancellationToken).ConfigureAwait(false);
        if (_listener.EndPoint is IPEndPoint bound)
        {
            advertised.OnBound(bound);
        }

        _acceptLoop = AcceptAsync(_listener);
        Log.Listening(logger, "http://" + _listener.EndPoint, maxConnections);
    }

    private async Task AcceptAsync(IConnectionListener listener)
    {
        while (true)
        {
            ConnectionContext? connection;
            try
            {
                connection = await listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException)
            {
                break;
            }
            catch (Exception e)
            {
                // A failed accept (out of descriptors despite the cap: other files) must not end the loop; logged at
                // most once a second, and the next attempt waits a little.
                long now = Environment.TickCount64;
                if (now - _lastAcceptErrorLog >= 1000)
                {
                    _lastAcceptErrorLog = now;
                    Log.AcceptFailed(logger, e);
                }

                await Task.Delay(50).ConfigureAwait(false);
                continue;
            }

            if (connection is null)
            {
                break; // unbound
            }

            // At the cap (after evicting a connection that never sent a request head, if there is one): 503.
            Interlocked.Increment(ref _active);
            HttpConnection? http = handler.TryAccept(connection);

            // Off the accept loop: the handler's first read may complete inline.
            ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Listener.RunAsync(state.Connection, state.Http), (Listener: this, Connection: connection, Http: http), preferLocal: false);
        }
    }

    private async Task RunAsync(ConnectionContext connection, HttpConnection? http)
    {
        try
        {
            Task run = http is null ? handler.RefuseAcceptedAsync(connection) : handler.RunAsync(http);
            // The handler owns the HTTP state now and drops it at a WebSocket upgrade: this state machine lives as
            // long as the connection and must not keep it.
            http = null;
            await run.ConfigureAwait(false);
        }
        finally
        {
            try
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Log.ConnectionFailed(logger, connection.ConnectionId, e);
            }

            ConnectionEnded();
        }
    }

    /// <summary>One connection fewer; the last one while stopping lets <see cref="StopAsync"/> finish.</summary>
    private void ConnectionEnded()
    {
        if (Interlocked.Decrement(ref _active) == 0 && _stopping)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>
    /// Stops accepting, then waits (within the host's shutdown timeout) for the connections to end: on shutdown the
    /// runtime has already closed every session, so they end as their close frames are flushed.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        if (_listener is not null)
        {
            await _listener.UnbindAsync(cancellationToken).ConfigureAwait(false);
        }

        await _acceptLoop.ConfigureAwait(false);
        if (Volatile.Read(ref _active) == 0)
        {
            _drained.TrySetResult();
        }

        try
        {
            await _drained.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Connections still open at the deadline end with the process.
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }
    }
}
