using Gateway.Prompts;
using StackExchange.Redis;

namespace Gateway.Redis;

/// <summary>
/// What <c>XINFO STREAM</c> says about a stream's history, as the reader checks it for gaps: how many entries were
/// ever added, the last id generated and the highest id deleted (trimmed or <c>XDEL</c>ed). An id Redis does not report
/// (or that does not parse) is <see cref="StreamId.Zero"/>.
/// </summary>
internal readonly record struct StreamBookkeeping(long EntriesAdded, StreamId LastGenerated, StreamId MaxDeleted)
{
    /// <summary>The bookkeeping of <paramref name="info"/>; null when there is no stream.</summary>
    public static StreamBookkeeping? From(StreamInfo? info) =>
        info is StreamInfo stream
            ? new StreamBookkeeping(stream.EntriesAdded, ParseOrZero(stream.LastGeneratedId), ParseOrZero(stream.MaxDeletedEntryId))
            : null;

    private static StreamId ParseOrZero(RedisValue value) =>
        !value.IsNullOrEmpty && StreamId.TryParse(value.ToString(), out StreamId id) ? id : StreamId.Zero;
}
