using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

/// <summary>Writes the <see cref="TrafficReport"/> line every <c>Gateway:Diagnostics:TrafficLogInterval</c> (when anything changed).</summary>
internal sealed class TrafficLogService(BroadcastContext context, IOptions<GatewayOptions> options, ILoggerFactory loggerFactory, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        int interval = options.Value.Diagnostics.TrafficLogInterval;
        if (interval <= 0)
        {
            return;
        }

        var report = new TrafficReport(context.Metrics, loggerFactory.CreateLogger(TrafficReport.LogCategory));
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(interval), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                report.Report(interval);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
