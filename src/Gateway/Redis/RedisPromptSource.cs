using Gateway.Prompts;
using Gateway.Streams;
using StackExchange.Redis;
using StreamPosition = Gateway.Prompts.StreamPosition;

namespace Gateway.Redis;

/// <summary>
/// Redis mode's <see cref="IPromptSource"/>: prompts come from the region's stream (<see cref="PromptStreamReader"/>),
/// and the admin publish appends to it, so every gateway of the region delivers it (this one too).
/// </summary>
internal sealed class RedisPromptSource(RegionConnection connection, PromptStreamReader reader) : IPromptSource
{
    /// <summary>Not ready while the region's Redis is away or the reader's last round failed.</summary>
    public string? NotReadyReason => connection.NotReadyReason ?? reader.NotReadyReason;

    public StreamPosition Position => reader.Position;

    public PromptStreamStats? Stream => new PromptStreamStats(reader.Cursor, reader.Held);

    public AnswerWindows AnswerWindows => reader.AnswerWindows;

    public async ValueTask<PublishOutcome> PublishAsync(PublishRequest request)
    {
        var prompt = new PromptEntry(request.Id ?? Guid.NewGuid().ToString("N"), request.Namespace, request.Channel, request.Event, request.Data.GetRawText(), request.RevealAtMs, request.SendAheadMs, request.AnswerUntilMs);
        string? invalid = prompt.Validate();
        if (invalid is not null)
        {
            return PublishOutcome.Invalid(invalid);
        }

        try
        {
            ConnectionMultiplexer redis = connection.Connection ?? throw new InvalidOperationException("redis: connecting");
            string streamId = await connection.Prompts.PublishAsync(redis, prompt).ConfigureAwait(false);
            return PublishOutcome.Appended(prompt.Id, streamId);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or InvalidOperationException)
        {
            return PublishOutcome.Unavailable("redis unavailable: " + e.Message);
        }
    }
}
