using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Gateway.Broadcast;

/// <summary>
/// Maps the channel names sockets are in to ids, so that membership checks on the fan-out path compare numbers. A
/// name lives while at least one socket is in it: the last one to leave frees it. Ids are never reused (a long
/// counter), so a ring slot addressed to a freed channel can never reach the members of a later one.
/// </summary>
/// <remarks>
/// Bounded three ways, so that no client can exhaust it for everyone: at most <c>Gateway:Channels:Max</c> names at
/// once; each socket may bring at most <c>Gateway:Channels:NewPerSocket</c> names into it over its life (checked by
/// the caller, who knows the socket); and at most <c>Gateway:Channels:NewPerSecond</c> names are created per second
/// gateway-wide (a token bucket, burst one second's worth). Joining a name that exists costs none of these. A
/// publish never creates a name: one nobody is in goes to <see cref="NoMembers"/>. Thread-safe: one lock, which the
/// <see cref="Broadcaster"/> also holds while it addresses and commits a publish (see <see cref="Gate"/>).
/// </remarks>
internal sealed class ChannelRegistry
{
    /// <summary>Longest channel name, in UTF-16 code units.</summary>
    public const int MaxNameLength = 128;

    /// <summary>The ring target of a message for the whole namespace.</summary>
    public const long WholeNamespace = -1;

    /// <summary>The ring target of a message for a channel nobody is in: no socket matches it.</summary>
    public const long NoMembers = -2;

    private readonly Dictionary<string, Channel> _channels = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly int _capacity;
    private readonly int _newPerSecond;
    private readonly TimeProvider _time;
    private double _newTokens;
    private long _refilledAt;
    private long _nextId;

    public ChannelRegistry(int capacity = 100_000, int newPerSecond = 1_000, TimeProvider? time = null)
    {
        _capacity = capacity;
        _newPerSecond = newPerSecond;
        _time = time ?? TimeProvider.System;
        _newTokens = newPerSecond;
        _refilledAt = _time.GetTimestamp();
    }

    private sealed class Channel(long id)
    {
        public readonly long Id = id;
        public int Members;
    }

    /// <summary>Names in use now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _channels.Count;
            }
        }
    }

    /// <summary>
    /// The registry's lock. The broadcaster addresses a publish (<see cref="FindLocked"/>) and commits it to the ring
    /// under it, so a socket joining a channel either is a member before the publish is addressed (the ring brings it)
    /// or joins after the publish is in the late-join cache (the cache brings it): never neither.
    /// </summary>
    public Lock Gate => _lock;

    /// <summary>
    /// Whether <paramref name="name"/> can be a channel: 1–<see cref="MaxNameLength"/> code units of well-formed
    /// UTF-16 (a lone surrogate cannot be written back to a client as JSON, nor to Redis as UTF-8).
    /// </summary>
    public static bool IsValidName([NotNullWhen(true)] string? name)
    {
        if (name is not { Length: > 0 and <= MaxNameLength })
        {
            return false;
        }

        ReadOnlySpan<char> rest = name;
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out _, out int used) != System.Buffers.OperationStatus.Done)
            {
                return false;
            }

            rest = rest[used..];
        }

        return true;
    }

    /// <summary>
    /// Makes the caller a member of every one of <paramref name="names"/> (distinct, valid, none of which it is in),
    /// or of none: the refusal says why. <paramref name="newAllowed"/> is how many names the caller may still create;
    /// <paramref name="ids"/> receives the ids, <paramref name="created"/> how many names were new.
    /// </summary>
    public ChannelRefusal TryJoin(IReadOnlyList<string> names, int newAllowed, Span<long> ids, out int created)
    {
        created = 0;
        lock (_lock)
        {
            int missing = 0;
            foreach (string name in names)
            {
                if (!_channels.ContainsKey(name))
                {
                    missing++;
                }
            }

            if (missing > 0)
            {
                if (missing > newAllowed)
                {
                    return ChannelRefusal.NewPerSocket;
                }

                if (_channels.Count + missing > _capacity)
                {
                    return ChannelRefusal.RegistryFull;
                }

                if (!TryTakeNewTokensLocked(missing))
                {
                    return ChannelRefusal.NewPerSecond;
                }
            }

            for (int i = 0; i < names.Count; i++)
            {
                if (!_channels.TryGetValue(names[i], out Channel? channel))
                {
                    channel = new Channel(_nextId++);
                    _channels.Add(names[i], channel);
                    created++;
                }

                channel.Members++;
                ids[i] = channel.Id;
            }

            return ChannelRefusal.None;
        }
    }

    /// <summary>One member left <paramref name="name"/>; the last one frees the name.</summary>
    public void Leave(string name)
    {
        lock (_lock)
        {
            if (_channels.TryGetValue(name, out Channel? channel) && --channel.Members <= 0)
            {
                _channels.Remove(name);
            }
        }
    }

    /// <summary>The id of a channel, or <see cref="NoMembers"/> when nobody is in it (tests, admin).</summary>
    public long Find(string name)
    {
        lock (_lock)
        {
            return FindLocked(name);
        }
    }

    /// <summary>As <see cref="Find"/>, for a caller holding <see cref="Gate"/>.</summary>
    public long FindLocked(string name) => _channels.TryGetValue(name, out Channel? channel) ? channel.Id : NoMembers;

    /// <summary>The sockets in channel <paramref name="name"/> (0 when nobody is).</summary>
    public int Members(string name)
    {
        lock (_lock)
        {
            return _channels.TryGetValue(name, out Channel? channel) ? channel.Members : 0;
        }
    }

    /// <summary>
    /// The <paramref name="n"/> channels with the most sockets, largest first (the stats and the region's counts): a
    /// walk of the names in use, on a stats request or a heartbeat, never per message.
    /// </summary>
    public List<KeyValuePair<string, long>> Top(int n)
    {
        var smallest = new PriorityQueue<string, int>(n + 1);
        if (n > 0)
        {
            lock (_lock)
            {
                foreach ((string name, Channel channel) in _channels)
                {
                    smallest.Enqueue(name, channel.Members);
                    if (smallest.Count > n)
                    {
                        smallest.Dequeue();
                    }
                }
            }
        }

        var top = new List<KeyValuePair<string, long>>(smallest.Count);
        while (smallest.TryDequeue(out string? name, out int count))
        {
            top.Add(new(name, count));
        }

        top.Reverse();
        return top;
    }

    private bool TryTakeNewTokensLocked(int count)
    {
        long now = _time.GetTimestamp();
        _newTokens = Math.Min(_newPerSecond, _newTokens + (_time.GetElapsedTime(_refilledAt, now).TotalSeconds * _newPerSecond));
        _refilledAt = now;
        if (_newTokens < count)
        {
            return false;
        }

        _newTokens -= count;
        return true;
    }
}
