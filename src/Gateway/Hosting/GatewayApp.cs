using System.Net;
using Gateway.Admin;
using Gateway.Answers;
using Gateway.Broadcast;
using Gateway.Census;
using Gateway.Configuration;
using Gateway.EngineIO;
using Gateway.Prompts;
using Gateway.Recovery;
using Gateway.Region;
using Gateway.Redis;
using Gateway.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Gateway.Hosting;

/// <summary>Builds the gateway: the public Socket.IO port on our connection handler, and the admin port.</summary>
public static class GatewayApp
{
    /// <summary>The public port's listen queue: the image's net.core.somaxconn, which caps it.</summary>
    internal const int ListenBacklog = 65535;

    /// <summary>Thrown when configuration is invalid; the message names every offending key.</summary>
    public sealed class ConfigurationException(string message) : Exception(message);

    public static WebApplication Build(string[] args)
    {
        WebApplicationBuilder builder = CreateBuilder(args);
        GatewayOptions options = LoadOptions(builder.Configuration);

        builder.Services.AddSingleton(Options.Create(options));
        // The clock of the timing wheel (heartbeats, deadlines); tests build the runtime on a fake one.
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<BroadcastContext>();
        builder.Services.AddSingleton<GatewayRuntime>();
        builder.Services.AddSingleton<LocalCounts>();
        builder.Services.AddSingleton<AdvertisedAddress>();
        // The public port is served by PublicListener on Kestrel's socket transport; Kestrel itself serves the admin port.
        builder.Services.AddSingleton<GatewayConnectionHandler>();
        builder.Services.AddHostedService<RuntimeService>();
        builder.Services.AddHostedService<PublicListener>();
        builder.Services.AddHostedService<TrafficLogService>();
        builder.Services.AddHostedService<MemoryTrimService>();
        builder.Services.AddHostedService<AdminWarmup>();
        // The ports, chosen once. Redis mode's loops are hosted services registered after the listener, so the host
        // stops them first (after OrderedShutdown has drained the sockets and flushed their records).
        if (options.RedisMode)
        {
            builder.Services.AddRedisRegion();
        }
        else
        {
            builder.Services.AddSingleton<IPromptSource>(sp => new EmbeddedPromptSource(sp.GetRequiredService<BroadcastContext>(), sp.GetRequiredService<TimeProvider>()));
            builder.Services.AddSingleton<IRecovery>(NoRecovery.Instance);
            builder.Services.AddSingleton<IAnswerSink>(EmbeddedAnswerSink.Instance);
            builder.Services.AddSingleton<IRegionCensus, LocalCensus>();
            builder.Services.AddSingleton<IRegionPeers>(NoPeers.Instance);
        }

        if (options.Metrics.Enabled)
        {
            builder.Services.AddOpenTelemetry().WithMetrics(metrics => ((IDeferredMeterProviderBuilder)metrics)
                .Configure((services, provider) => provider.AddMeter(services.GetRequiredService<BroadcastContext>().Metrics.Name))
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter());
        }

        // SIGTERM: readiness → paced drain → HTTP connections → recovery flush, before any hosted service stops.
        builder.Services.AddHostedService<OrderedShutdown>();
        // The drain takes Delay + Window; the rest of the stop gets its own margin. systemd's TimeoutStopSec must
        // exceed this (ami/systemd/gateway.service).
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout =
            TimeSpan.FromMilliseconds((long)options.Drain.Delay + options.Drain.Window) + OrderedShutdown.AfterDrain);
        AddSystemdNotification(builder.Services);
        builder.WebHost.UseSockets(socket =>
        {
            // Run continuations on the thread that completed the I/O: a fan-out worker's flush performs the
            // socket send itself, and no thread-pool hop is paid per message. Our code on these threads never blocks.
            socket.UnsafePreferInlineScheduling = true;
            // Idle sockets hold no receive buffer (zero-byte reads).
            socket.WaitForDataBeforeAllocatingBuffer = true;
            // A whole message must fit the input pipe before it is parsed.
            socket.MaxReadBufferSize = Math.Max(1L << 20, options.MaxPayload + options.MaxRequestHeadLength + (64 * 1024));
            // A show-start surge waits in the kernel's listen queue while the accept loop catches up; Kestrel's 512
            // would drop the SYNs beyond it (phones retry after 1 s, then 3 s). The kernel caps it at somaxconn.
            socket.Backlog = ListenBacklog;
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Parse(options.AdminBindAddress), options.AdminPort, listen => listen.Protocols = HttpProtocols.Http1);
            if (options.HealthPort != 0)
            {
                // On the public address, for the load balancer: AdminApi answers only /healthz and /readyz here.
                kestrel.Listen(IPAddress.Parse(options.BindAddress), options.HealthPort, listen => listen.Protocols = HttpProtocols.Http1);
            }
        });

        WebApplication app = builder.Build();
        GatewayRuntime runtime = app.Services.GetRequiredService<GatewayRuntime>();
        AdminApi.Map(app, runtime, options.AdminPort, options.HealthPort);
        if (options.Metrics.Enabled)
        {
            app.MapPrometheusScrapingEndpoint("/metrics").RequireHost($"*:{options.AdminPort}");
        }

        return app;
    }

    private static WebApplicationBuilder CreateBuilder(string[] args)
    {
        try
        {
            // appsettings.json sits beside the binary, wherever it is started from.
            return WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        }
        catch (InvalidDataException ex)
        {
            // A configuration file that is not JSON ("Failed to load configuration from file …"): a configuration error
            // like any other (exit code 2), which restarting cannot fix.
            throw new ConfigurationException(ex.Message + (ex.InnerException is { } inner ? " " + inner.Message : ""));
        }
    }

    /// <summary>
    /// systemd's <c>Type=notify</c>: <c>READY=1</c> once the host has started (every port bound, hosted services
    /// running), <c>STOPPING=1</c> when it stops. Only the lifetime, not <c>AddSystemd()</c>, which would also switch
    /// console logging to systemd's text format; the configured formatter (JSON lines on the image) stays. Active when
    /// systemd started the process, or whenever a notify socket is given, as <c>sd_notify(3)</c> reads it.
    /// </summary>
    private static void AddSystemdNotification(IServiceCollection services)
    {
        if (SystemdHelpers.IsSystemdService() || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET")))
        {
            services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
            services.AddSingleton<IHostLifetime, SystemdLifetime>();
        }
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
        string[] errors = options.Validate().Concat(RedisOptionsValidation.Validate(options)).Concat(Identity.ViewerTokens.ValidateOptions(options)).ToArray();
        if (errors.Length > 0)
        {
            throw new ConfigurationException("Invalid configuration:\n  " + string.Join("\n  ", errors));
        }

        return options;
    }
}
