using Gateway.Prompts;
using Gateway.Recovery;

namespace Gateway.Redis;

/// <summary>
/// Redis mode's <see cref="IRecovery"/>: signed pids (<see cref="PidSigner"/>), session records
/// (<see cref="SessionStore"/>), and requests served by the <see cref="PromptStreamReader"/>, which knows what each
/// socket missed. Offered when <c>Gateway:Recovery:Enabled</c>.
/// </summary>
internal sealed class RedisRecovery(RegionConnection connection, PidSigner signer, SessionStore sessions, PromptStreamReader reader) : IRecovery
{
    public bool Offered { get; } = connection.Options.Recovery.Enabled;

    public string IssuePid(string sid, string namespaceName, StreamPosition joined) => signer.Issue(sid, namespaceName, joined);

    public void SaveSession(string pid, string sid, string namespaceName, StreamPosition joined, ReadOnlySpan<string> channels) =>
        sessions.SaveSession(pid, sid, namespaceName, joined, channels);

    public void SaveChannels(string pid, ReadOnlySpan<string> channels) => sessions.SaveChannels(pid, channels);

    public bool TryRequest(RecoveryRequest request)
    {
        return reader.TryRequestRecovery(new PendingRecovery(request)
        {
            // A handed-over socket brings its record along: nothing to take from Redis.
            Record = request.HandedOver is { } handed
                ? new SessionRecord(handed.Sid, handed.Namespace, handed.Joined.VisibleAt, handed.Joined.Id.ToString(), handed.Channels)
                : null,
        });
    }

    public void Flush() => connection.Flush();
}
