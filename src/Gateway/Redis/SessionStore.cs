using System.Text.Json;
using Gateway.Prompts;
using StackExchange.Redis;
using StreamPosition = Gateway.Prompts.StreamPosition;

namespace Gateway.Redis;

/// <summary>
/// The recoverable-session records in the region's Redis: a record per closed socket (by pid), the channels a socket
/// joined by event, and the once-only claim of a pid recovered without a record.
/// </summary>
internal sealed class SessionStore(RegionConnection connection)
{
    /// <summary>
    /// How long the channels a socket joined or left by event stay in Redis after their last change: a crash
    /// recovery of a socket older than that cannot know them (recovered: false).
    /// </summary>
    public static readonly TimeSpan ChannelsLifetime = TimeSpan.FromHours(24);

    private TimeSpan MaxDisconnection => TimeSpan.FromMilliseconds(connection.Options.Recovery.MaxDisconnection);

    public RedisKey RecordKey(string pid) => connection.SessionPrefix + pid;

    public RedisKey ChannelsKey(string pid) => connection.SessionPrefix + "channels:" + pid;

    /// <summary>
    /// Records a socket whose transport closed, so that any gateway of the region can restore it within
    /// <c>Recovery:MaxDisconnection</c> (the record expires then). Pipelined, fire and forget: a close never waits.
    /// </summary>
    public void SaveSession(string pid, string sid, string namespaceName, StreamPosition joined, ReadOnlySpan<string> channels)
    {
        ConnectionMultiplexer? redis = connection.Connection;
        if (redis is null)
        {
            return;
        }

        var record = new SessionRecord(sid, namespaceName, joined.VisibleAt, joined.Id.ToString(), channels.ToArray());
        string json = JsonSerializer.Serialize(record, SessionRecord.JsonOptions);
        try
        {
            redis.GetDatabase().StringSet(RecordKey(pid), json, MaxDisconnection, flags: CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
            // Redis away: that socket will reconnect with recovered: false, which is the truth.
        }
    }

    /// <summary>
    /// Records the channels of a socket whose membership changed by event after its CONNECT. A gateway that crashes
    /// writes no session record; the one that recovers the socket reads them from here. Pipelined, fire and forget.
    /// </summary>
    public void SaveChannels(string pid, ReadOnlySpan<string> channels)
    {
        ConnectionMultiplexer? redis = connection.Connection;
        if (redis is null)
        {
            return;
        }

        string json = JsonSerializer.Serialize(channels.ToArray(), SessionRecord.JsonOptions);
        try
        {
            redis.GetDatabase().StringSet(ChannelsKey(pid), json, ChannelsLifetime, flags: CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
        }
    }

    public RedisKey HolderKey(string pid) => connection.SessionPrefix + "holder:" + pid;

    /// <summary>
    /// Records that <paramref name="instance"/> holds the socket of <paramref name="pid"/> now (it recovered or took it
    /// over from the gateway that signed the pid): when a gateway crashes, a recovery waits for the heartbeats of the
    /// gateway that held the socket to stop, not of the one that signed its pid. Fire and forget.
    /// </summary>
    public void SaveHolder(string pid, string instance)
    {
        try
        {
            connection.Connection?.GetDatabase().StringSet(HolderKey(pid), instance, ChannelsLifetime, flags: CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
        }
    }

    /// <summary>Takes a socket's record (GETDEL: a pid recovers once).</summary>
    public Task<RedisValue> TakeRecordAsync(IDatabase db, string pid) => db.StringGetDeleteAsync(RecordKey(pid));

    /// <summary>A pid recovers once: the first gateway to claim it wins.</summary>
    public Task<bool> ClaimPidAsync(IDatabase db, string pid) =>
        db.StringSetAsync(connection.SessionPrefix + "claimed:" + pid, 1, MaxDisconnection, when: When.NotExists);
}
