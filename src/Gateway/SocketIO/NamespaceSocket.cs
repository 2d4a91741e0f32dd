using Gateway.Answers;
using Gateway.Identity;
using Gateway.Prompts;

namespace Gateway.SocketIO;

/// <summary>
/// One Socket.IO socket: a session's membership of one namespace, with its channels and its auth payload. Guarded by
/// the owning Engine.IO session's lock.
/// </summary>
internal sealed class NamespaceSocket
{
    private const int MaxPendingRelays = 16;

    public NamespaceSocket(int namespaceIndex, string id, byte[]? auth, long joinedAt, string? pid = null, StreamPosition joinPosition = default, Viewer? viewer = null)
    {
        NamespaceIndex = namespaceIndex;
        Id = id;
        Auth = auth;
        JoinedAt = joinedAt;
        Pid = pid;
        JoinPosition = joinPosition;
        Viewer = viewer;
    }

    /// <summary>The viewer its CONNECT token named (<c>Gateway:Auth:Jwt</c>), or null without viewer identity.</summary>
    public Viewer? Viewer { get; }

    /// <summary>Whose answers these are: the token's <c>sub</c>, else the socket id (which a recovery keeps).</summary>
    public string ViewerId => Viewer?.Id ?? Id;

    /// <summary>Whether the token allows <paramref name="channel"/> (always, without viewer identity).</summary>
    public bool MayJoin(string channel) => Viewer is null || Viewer.MayJoin(channel);

    /// <summary>Connection-state recovery id sent in the CONNECT reply (Redis mode), or null.</summary>
    public string? Pid { get; }

    /// <summary>Prompt stream position at join: where a recovery without an offset starts.</summary>
    public StreamPosition JoinPosition { get; }

    // Answers: a token bucket (one answer per viewer and prompt is the answer sink's and AnsweredPrompts' rule).
    private double _answerTokens = -1;
    private long _answerRefilledAt;

    /// <summary>Takes one answer from the socket's rate: <see cref="AnswerRefusal.RateLimited"/> or <see cref="AnswerRefusal.None"/>.</summary>
    public AnswerRefusal TryAnswer(int perSecond, long nowMs)
    {
        double burst = perSecond * 2.0;
        _answerTokens = _answerTokens < 0 ? burst : Math.Min(burst, _answerTokens + ((nowMs - _answerRefilledAt) * perSecond / 1000.0));
        _answerRefilledAt = nowMs;
        if (_answerTokens < 1)
        {
            return AnswerRefusal.RateLimited;
        }

        _answerTokens -= 1;
        return AnswerRefusal.None;
    }

    public int NamespaceIndex { get; }

    /// <summary>The Socket.IO socket id sent in the CONNECT reply.</summary>
    public string Id { get; }

    /// <summary>The CONNECT payload as received (a JSON object), or null.</summary>
    public byte[]? Auth { get; }

    /// <summary>Ring sequence at join: earlier broadcasts are not for this socket.</summary>
    public long JoinedAt { get; }

    private long[]? _channelIds;
    private string[]? _channelNames;
    private int _channelCount;

    // Echo relay: server ack id -> the client's ack id it answers.
    private long[]? _relays;
    private int _relayCount;
    private long _nextServerAckId;

    public int ChannelCount => _channelCount;

    /// <summary>Channel names this socket brought into the registry (it joined them while nobody was in them).</summary>
    public int ChannelsCreated { get; set; }

    public bool HasChannel(long channelId)
    {
        long[]? ids = _channelIds;
        for (int i = 0; i < _channelCount; i++)
        {
            if (ids![i] == channelId)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Adds a channel; false when it would exceed <paramref name="limit"/>. Adding a member again is a no-op.</summary>
    public bool AddChannel(long channelId, string name, int limit)
    {
        if (HasChannel(channelId))
        {
            return true;
        }

        if (_channelCount >= limit)
        {
            return false;
        }

        if (_channelIds is null || _channelCount == _channelIds.Length)
        {
            int size = Math.Min(limit, Math.Max(2, _channelCount * 2));
            Array.Resize(ref _channelIds, size);
            Array.Resize(ref _channelNames, size);
        }

        _channelIds[_channelCount] = channelId;
        _channelNames![_channelCount] = name;
        _channelCount++;
        return true;
    }

    public void RemoveChannel(long channelId)
    {
        for (int i = 0; i < _channelCount; i++)
        {
            if (_channelIds![i] == channelId)
            {
                _channelCount--;
                _channelIds[i] = _channelIds[_channelCount];
                _channelNames![i] = _channelNames[_channelCount];
                _channelNames[_channelCount] = null!;
                return;
            }
        }
    }

    public ReadOnlySpan<string> ChannelNames => _channelNames is null ? default : _channelNames.AsSpan(0, _channelCount);

    /// <summary>The ids of <see cref="ChannelNames"/>, in the same order.</summary>
    public ReadOnlySpan<long> ChannelIds => _channelIds is null ? default : _channelIds.AsSpan(0, _channelCount);

    /// <summary>The id of channel <paramref name="name"/> if the socket is in it.</summary>
    public bool TryGetChannel(string name, out long channelId)
    {
        for (int i = 0; i < _channelCount; i++)
        {
            if (string.Equals(_channelNames![i], name, StringComparison.Ordinal))
            {
                channelId = _channelIds![i];
                return true;
            }
        }

        channelId = 0;
        return false;
    }

    /// <summary>Allocates a server ack id that answers the client's <paramref name="clientAckId"/> when acked.</summary>
    public long AddRelay(long clientAckId)
    {
        _relays ??= new long[MaxPendingRelays * 2];
        if (_relayCount == MaxPendingRelays)
        {
            // Forget the oldest: a client that never acks cannot grow this.
            Array.Copy(_relays, 2, _relays, 0, (MaxPendingRelays - 1) * 2);
            _relayCount--;
        }

        long serverAckId = _nextServerAckId++;
        _relays[_relayCount * 2] = serverAckId;
        _relays[(_relayCount * 2) + 1] = clientAckId;
        _relayCount++;
        return serverAckId;
    }

    /// <summary>Takes the client ack id waiting for <paramref name="serverAckId"/>, or -1.</summary>
    public long TakeRelay(long serverAckId)
    {
        for (int i = 0; i < _relayCount; i++)
        {
            if (_relays![i * 2] == serverAckId)
            {
                long client = _relays[(i * 2) + 1];
                Array.Copy(_relays, (i + 1) * 2, _relays, i * 2, (_relayCount - i - 1) * 2);
                _relayCount--;
                return client;
            }
        }

        return -1;
    }
}
