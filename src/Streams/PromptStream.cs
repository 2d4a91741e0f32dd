using StackExchange.Redis;

namespace Gateway.Streams;

/// <summary>
/// The keys of a region's prompt stream and how a prompt is written to it. The gateway's admin publish (Redis mode),
/// the multi-region publisher and the load generator all write through here, so there is one writer of the contract.
/// </summary>
public sealed class PromptStream
{
    public const string DefaultKey = "gateway:prompts";
    public const string WakeSuffix = ":wake";

    /// <summary>Default retention of <c>XADD … MAXLEN ~</c>: enough history for recovery over a show.</summary>
    public const long DefaultMaxLength = 100_000;

    public PromptStream(string key = DefaultKey, long maxLength = DefaultMaxLength)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        Key = key;
        WakeChannel = RedisChannel.Literal(key + WakeSuffix);
        MaxLength = maxLength;
    }

    public RedisKey Key { get; }

    /// <summary>Publishers announce each new entry here (payload: its stream id); gateways read on the wake-up.</summary>
    public RedisChannel WakeChannel { get; }

    public long MaxLength { get; }

    /// <summary>
    /// <c>XADD</c> with approximate trimming, then the wake-up <c>PUBLISH</c>. Returns the entry's stream id. A
    /// retried publish may add the prompt twice; gateways skip the second by its <see cref="PromptEntry.Id"/>.
    /// </summary>
    public async Task<string> PublishAsync(IConnectionMultiplexer redis, PromptEntry prompt)
    {
        string? error = prompt.Validate();
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(prompt));
        }

        IDatabase db = redis.GetDatabase();
        RedisValue streamId = await db.StreamAddAsync(Key, prompt.ToFields(), maxLength: MaxLength, useApproximateMaxLength: true).ConfigureAwait(false);
        // The wake-up is an optimisation (gateways also poll): its failure does not fail the publish.
        try
        {
            await redis.GetSubscriber().PublishAsync(WakeChannel, streamId).ConfigureAwait(false);
        }
        catch (RedisException)
        {
        }

        return streamId!;
    }
}
