using Gateway.Answers;
using Gateway.Broadcast;
using Gateway.EngineIO;
using Gateway.Hosting;
using Gateway.Prompts;
using Gateway.Recovery;
using Gateway.Redis;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace Gateway.Tests.Hosting;

/// <summary>The composition root picks the ports' implementations once, by configuration. Built, never started.</summary>
public sealed class GatewayAppTests
{
    private static WebApplication Build(params string[] args) =>
        GatewayApp.Build(["--Gateway:Port=0", "--Gateway:AdminPort=0", "--Logging:LogLevel:Default=Warning", .. args]);

    [Fact]
    public async Task Build_Embedded_RegistersTheEmbeddedPortsAndNoRedisLoop()
    {
        await using WebApplication app = Build();
        GatewayRuntime runtime = app.Services.GetRequiredService<GatewayRuntime>();

        Assert.IsType<EmbeddedPromptSource>(runtime.Prompts);
        Assert.Same(NoRecovery.Instance, runtime.Recovery);
        Assert.Same(EmbeddedAnswerSink.Instance, runtime.Answers);
        Assert.False(runtime.OffersRecovery);
        Assert.Same(app.Services.GetRequiredService<BroadcastContext>(), runtime.Context);
        Assert.DoesNotContain(app.Services.GetServices<IHostedService>(), s => s.GetType().Namespace == "Gateway.Redis");
    }

    [Fact]
    public async Task Build_RedisMode_RegistersTheRedisPortsAndTheirLoopsAfterTheListener()
    {
        // Nothing connects: the loops are hosted services and the app is never started.
        await using WebApplication app = Build("--Gateway:Redis:Configuration=127.0.0.1:1");
        GatewayRuntime runtime = app.Services.GetRequiredService<GatewayRuntime>();

        Assert.IsType<RedisPromptSource>(runtime.Prompts);
        Assert.IsType<RedisRecovery>(runtime.Recovery);
        Assert.IsType<AnswerWriter>(runtime.Answers);
        Assert.True(runtime.OffersRecovery);
        Type[] hosted = app.Services.GetServices<IHostedService>().Select(s => s.GetType()).ToArray();
        int listener = Array.IndexOf(hosted, typeof(PublicListener));
        Assert.True(listener >= 0);
        Assert.Equal(
            [typeof(RegionConnection), typeof(PromptStreamReader), typeof(RegionLiveness), typeof(AnswerWriter)],
            hosted.Where(t => t.Namespace == "Gateway.Redis").ToArray());
        Assert.All(hosted.Where(t => t.Namespace == "Gateway.Redis"), t => Assert.True(Array.IndexOf(hosted, t) > listener, $"{t.Name} stops before the listener"));
        Assert.Same(app.Services.GetRequiredService<AnswerWriter>(), runtime.Answers);
    }

    [Fact]
    public async Task Build_RegistersTheOrderedShutdown_WithAHostTimeoutAboveTheDrain()
    {
        await using WebApplication app = Build("--Gateway:Drain:Delay=2000", "--Gateway:Drain:Window=7000");

        Assert.Single(app.Services.GetServices<IHostedService>(), s => s is OrderedShutdown);
        TimeSpan timeout = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HostOptions>>().Value.ShutdownTimeout;
        Assert.Equal(TimeSpan.FromMilliseconds(9000) + OrderedShutdown.AfterDrain, timeout);
    }

    [Fact]
    public async Task Build_RedisModeRecoveryDisabled_OffersNoPid()
    {
        await using WebApplication app = Build("--Gateway:Redis:Configuration=127.0.0.1:1", "--Gateway:Recovery:Enabled=false");

        Assert.False(app.Services.GetRequiredService<GatewayRuntime>().OffersRecovery);
    }

    [Theory]
    [InlineData("Gateway:Reveal:SendAhead", "-1", "must be 0–600000 ms")]
    [InlineData("Gateway:Reveal:SendAhead", "600001", "must be 0–600000 ms")]
    [InlineData("Gateway:FanOutNice", "-21", "must be -20–19")]
    [InlineData("Gateway:FanOutNice", "20", "must be -20–19")]
    public void LoadOptions_OutOfRange_NamesTheKey(string key, string value, string rule)
    {
        IConfiguration configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new KeyValuePair<string, string?>(key, value)]).Build();

        GatewayApp.ConfigurationException error = Assert.Throws<GatewayApp.ConfigurationException>(() => { GatewayApp.LoadOptions(configuration); });

        Assert.Contains($"{key} {rule} (was {value})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadOptions_RevealAndDemo_DefaultOff()
    {
        Configuration.GatewayOptions options = GatewayApp.LoadOptions(new ConfigurationBuilder().Build());

        Assert.Equal(0, options.Reveal.SendAhead);
        Assert.False(options.Demo.Enabled);
    }
}
