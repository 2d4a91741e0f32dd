using Gateway.Configuration;
using StackExchange.Redis;

namespace Gateway.Redis;

/// <summary>The checks of <c>Gateway:Redis</c> that need StackExchange.Redis itself (the composition root adds them).</summary>
internal static class RedisOptionsValidation
{
    public static IEnumerable<string> Validate(GatewayOptions options)
    {
        if (!options.RedisMode)
        {
            yield break;
        }

        string? configurationError = null;
        try
        {
            ConfigurationOptions.Parse(options.Redis.Configuration!);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or NotSupportedException)
        {
            configurationError = e.Message;
        }

        if (configurationError is not null)
        {
            yield return $"Gateway:Redis:Configuration is not a valid StackExchange.Redis configuration ({configurationError}).";
        }
    }
}
