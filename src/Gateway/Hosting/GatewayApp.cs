using System.Net;
using Gateway.Admin;
using Gateway.Answers;
using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.EngineIO;
using Gateway.Prompts;
using Gateway.Recovery;
using Gateway.Redis;
using Gateway.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Gateway.Hosting;

/// <summary>Builds the gateway: the public Socket.IO port on our connection handler, and the admin port.</summary>
public static class GatewayApp
{
    /// <summary>Thrown when configuration is invalid; the message names every offending key.</summary>
    public sealed class ConfigurationException(string message) : Exception(message);

    public static WebApplication Build(string[] args)
    {
        // appsettings.json sits beside the binary, wherever it is started from.
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        GatewayOptions options = LoadOptions(builder.Configuration);

        builder.Services.AddSingleton(Options.Create(options));
        // The clock of the timing wheel (heartbeats, deadlines); tests build the runtime on a fake one.
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<BroadcastContext>();
        builder.Services.AddSingleton<GatewayRuntime>();
        // The public port is served by PublicListener on Kestrel's socket transport; Kestrel itself serves the admin port.
        builder.Services.AddSingleton<GatewayConnectionHandler>();
        builder.Services.AddHostedService<RuntimeService>();
        builder.Services.AddHostedService<PublicListener>();
        // The ports, chosen once. Redis mode's loops are hosted services registered after the listener, so the host
        // stops them first (after the ApplicationStopping callback below has closed the sockets and flushed).
        if (options.RedisMode)
        {
            builder.Services.AddRedisRegion();
        }
        else
        {
            builder.Services.AddSingleton<IPromptSource>(sp => new EmbeddedPromptSource(sp.GetRequiredService<BroadcastContext>(), sp.GetRequiredService<TimeProvider>()));
            builder.Services.AddSingleton<IRecovery>(NoRecovery.Instance);
            builder.Services.AddSingleton<IAnswerSink>(EmbeddedAnswerSink.Instance);
        }

        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(Diagnostics.GatewayMetrics.MeterName)
            .AddPrometheusExporter());
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.WebHost.UseSockets(socket =>
        {
            // Run continuations on the thread that completed the I/O: a fan-out worker's flush performs the
            // socket send itself, and no thread-pool hop is paid per message. Our code on these threads never blocks.
            socket.UnsafePreferInlineScheduling = true;
            // Idle sockets hold no receive buffer (zero-byte reads).
            socket.WaitForDataBeforeAllocatingBuffer = true;
            // A whole message must fit the input pipe before it is parsed.
            socket.MaxReadBufferSize = Math.Max(1L << 20, options.MaxPayload + options.MaxRequestHeadLength + (64 * 1024));
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Parse(options.AdminBindAddress), options.AdminPort, listen => listen.Protocols = HttpProtocols.Http1);
        });

        WebApplication app = builder.Build();
        GatewayRuntime runtime = app.Services.GetRequiredService<GatewayRuntime>();
        AdminApi.Map(app, runtime, options.AdminPort);
        app.MapPrometheusScrapingEndpoint("/metrics").RequireHost($"*:{options.AdminPort}");
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            runtime.Stopping = true;
            runtime.CloseAll(CloseReason.ServerShutdown);
            app.Services.GetRequiredService<GatewayConnectionHandler>().EndHttpConnections();
            // Recovery: the closes queued one session record per socket; they must land before the process ends (and
            // before the hosted services stop the Redis loops).
            runtime.Recovery.Flush();
        });
        return app;
    }

    /// <summary>Binds and validates the <c>Gateway</c> section.</summary>
    public static GatewayOptions LoadOptions(IConfiguration configuration)
    {
        var options = new GatewayOptions();
        try
        {
            configuration.GetSection(GatewayOptions.SectionName).Bind(options, binder => binder.ErrorOnUnknownConfiguration = false);
        }
        catch (InvalidOperationException ex)
        {
            // The binder's message names the key ("Failed to convert configuration value at 'Gateway:Port'…").
            throw new ConfigurationException(ex.Message);
        }

        options.Normalize();
        string[] errors = options.Validate().Concat(RedisOptionsValidation.Validate(options)).ToArray();
        if (errors.Length > 0)
        {
            throw new ConfigurationException("Invalid configuration:\n  " + string.Join("\n  ", errors));
        }

        return options;
    }
}
