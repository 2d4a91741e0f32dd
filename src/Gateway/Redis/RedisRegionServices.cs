using Gateway.Answers;
using Gateway.Census;
using Gateway.Prompts;
using Gateway.Recovery;
using Gateway.Region;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Redis;

/// <summary>Registers Redis mode: the three ports' Redis implementations and their loops as hosted services.</summary>
internal static class RedisRegionServices
{
    /// <summary>
    /// The connection, the prompt stream reader, the instance heartbeat and the answers writer run as hosted services,
    /// started in that order (and stopped in the reverse order, after whatever was registered before them).
    /// </summary>
    public static IServiceCollection AddRedisRegion(this IServiceCollection services)
    {
        services.AddSingleton<RegionConnection>();
        services.AddSingleton(_ => new PidSigner(PidSigner.NewInstanceId()));
        services.AddSingleton<SessionStore>();
        services.AddSingleton<RegionLiveness>();
        services.AddSingleton<PromptStreamReader>();
        services.AddSingleton<RedisPromptSource>();
        services.AddSingleton<AnswerWriter>();
        services.AddSingleton<IPromptSource>(sp => sp.GetRequiredService<RedisPromptSource>());
        services.AddSingleton<IRecovery, RedisRecovery>();
        services.AddSingleton<IAnswerSink>(sp => sp.GetRequiredService<AnswerWriter>());
        services.AddSingleton<RedisCensus>();
        services.AddSingleton<IRegionCensus>(sp => sp.GetRequiredService<RedisCensus>());
        services.AddSingleton<RedisRegionPeers>();
        services.AddSingleton<IRegionPeers>(sp => sp.GetRequiredService<RedisRegionPeers>());
        services.AddHostedService(sp => sp.GetRequiredService<RegionConnection>());
        services.AddHostedService(sp => sp.GetRequiredService<PromptStreamReader>());
        services.AddHostedService(sp => sp.GetRequiredService<RegionLiveness>());
        services.AddHostedService(sp => sp.GetRequiredService<AnswerWriter>());
        return services;
    }
}
