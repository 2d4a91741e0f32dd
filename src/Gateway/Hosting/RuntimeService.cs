using Gateway.EngineIO;
using Microsoft.Extensions.Hosting;

namespace Gateway.Hosting;

/// <summary>
/// Starts the runtime's threads (fan-out workers, timing wheel) before the public port opens; registered ahead of
/// <see cref="PublicListener"/> so hosted services start in that order. The container's dispose of
/// <see cref="GatewayRuntime"/> stops and joins them.
/// </summary>
internal sealed class RuntimeService(GatewayRuntime runtime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        runtime.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
