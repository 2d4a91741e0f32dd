using System.Net;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.Time;

namespace Gateway.EngineIO;

/// <summary>
/// Admission control, decided before any session state exists: the connection cap (viewers: Engine.IO sessions, of
/// either transport, however many TCP connections each uses), the descriptor guard (every TCP connection), the
/// per-address cap, the accept rate, handshakes per connection, the memory of incomplete request
/// bodies, and the one refusal response every limit answers with (<see cref="WriteRefusal"/>).
/// </summary>
/// <remarks>
/// Counters are plain fields updated with <see cref="Interlocked"/>; the per-address table and the token bucket take
/// a lock once per connection or handshake, never per message. A refusal writes a preformatted response: no allocation.
/// </remarks>
internal sealed class Admission
{
    /// <summary>Handshakes one TCP connection may make within <see cref="HandshakeWindowMs"/> (pipelined handshakes).</summary>
    public const int MaxHandshakesPerConnection = 4;

    public const int HandshakeWindowMs = 10_000;

    /// <summary>Room a refusal response needs (<see cref="WriteRefusal"/>).</summary>
    public const int MaxRefusalLength = 256;

    private readonly GatewayRuntime _runtime;
    private readonly GatewayMetrics _metrics;
    private readonly GatewayOptions.LimitsOptions _limits;
    private readonly TokenBucket? _accepts;
    private readonly Lock _addressesLock = new();
    private readonly Dictionary<IPAddress, ClientAddress> _addresses = [];
    private readonly byte[][] _responseTails;
    private int _maxConnections = int.MaxValue;
    private int _maxDescriptors = int.MaxValue;
    private int _descriptors;
    private int _admitting;
    private long _pendingBodyBytes;
    private Func<bool>? _evictIdle;

    public Admission(GatewayRuntime runtime)
    {
        _runtime = runtime;
        _metrics = runtime.Metrics;
        _limits = runtime.Options.Limits;
        if (_limits.AcceptRate > 0)
        {
            _accepts = new TokenBucket(_limits.AcceptRate, _limits.AcceptBurst > 0 ? _limits.AcceptBurst : _limits.AcceptRate, runtime.Wheel.Now);
        }

        _responseTails = new byte[RefusalReasons.Count][];
        for (int i = 0; i < _responseTails.Length; i++)
        {
            _responseTails[i] = ResponseTail((RefusalReason)i);
        }
    }

    /// <summary>The cap on viewers (set by the listener: configured or automatic).</summary>
    public int MaxConnections => _maxConnections;

    /// <summary>Open TCP connections on the public port.</summary>
    public int Connections => Volatile.Read(ref _descriptors);

    /// <summary>
    /// What counts against <see cref="MaxConnections"/>: the Engine.IO sessions, WebSocket and polling, and those
    /// admitted that have not started yet (a 101 goes out before its session starts).
    /// </summary>
    public long Viewers => _metrics.Connections + Volatile.Read(ref _admitting);

    /// <summary>Bytes reserved by request bodies still arriving.</summary>
    public long PendingBodyBytes => Volatile.Read(ref _pendingBodyBytes);

    /// <param name="maxConnections">The viewer cap (sessions), and the most connections without a request head.</param>
    /// <param name="maxDescriptors">TCP connections the process has descriptors for, whatever the cap: a polling
    /// viewer may hold two (a long poll and a POST) and keep-alive connections outlive their session.</param>
    public void SetMaxConnections(int maxConnections, int maxDescriptors)
    {
        _maxConnections = maxConnections;
        _maxDescriptors = maxDescriptors;
    }

    /// <summary>
    /// How to make room at the descriptors' limit: close the oldest connection that has sent no complete request head
    /// (it is not a viewer yet) and release its count (<see cref="ReleaseDescriptor"/>). True when one was closed.
    /// </summary>
    public void SetIdleEviction(Func<bool> evictIdle) => _evictIdle = evictIdle;

    // ---- TCP connections ----------------------------------------------------------------------------------------

    /// <summary>
    /// A connection was accepted: counts it against the descriptors, making room by evicting an idle connection when
    /// there is none. False: refuse it with <see cref="RefusalReason.MaxConnections"/>. The viewer cap is decided at
    /// the handshake (<see cref="AdmitSession"/>): a new connection may be a viewer's (its POST, its upgrade).
    /// </summary>
    public bool TryAddConnection(ref ConnectionQuota quota)
    {
        if (!TryIncrementDescriptors() && !(_evictIdle?.Invoke() == true && TryIncrementDescriptors()))
        {
            return false;
        }

        quota.HoldsDescriptor = 1;
        return true;
    }

    private bool TryIncrementDescriptors()
    {
        if (Interlocked.Increment(ref _descriptors) <= _maxDescriptors)
        {
            return true;
        }

        Interlocked.Decrement(ref _descriptors);
        return false;
    }

    /// <summary>The connection no longer counts against the descriptors (ended, or evicted and closing). Idempotent.</summary>
    public void ReleaseDescriptor(ref ConnectionQuota quota)
    {
        if (Interlocked.Exchange(ref quota.HoldsDescriptor, 0) == 1)
        {
            Interlocked.Decrement(ref _descriptors);
        }
    }

    /// <summary>
    /// The connection's client address is known (its socket's peer, or a PROXY protocol header): counts it against
    /// <c>Gateway:Limits:MaxConnectionsPerIp</c>. False: refuse with <see cref="RefusalReason.MaxConnectionsPerIp"/>.
    /// </summary>
    public bool TryAdmitAddress(ref ConnectionQuota quota, IPAddress? address)
    {
        if (_limits.MaxConnectionsPerIp <= 0 || address is null || _runtime.Peers.IsPeerAddress(address))
        {
            return true; // another gateway of the region forwarding its clients' requests is not one client
        }

        lock (_addressesLock)
        {
            if (!_addresses.TryGetValue(address, out ClientAddress? entry))
            {
                entry = new ClientAddress(address);
                _addresses.Add(address, entry);
            }

            if (!TryAcquireLocked(entry))
            {
                return false;
            }

            quota.Address = entry;
            return true;
        }
    }

    /// <summary>The connection ended: its descriptor count and its address count go.</summary>
    public void ConnectionEnded(ref ConnectionQuota quota)
    {
        ReleaseDescriptor(ref quota);
        ClientAddress? address = quota.Address;
        quota.Address = null;
        Release(address);
    }

    // ---- Sessions -----------------------------------------------------------------------------------------------

    /// <summary>
    /// A handshake on a connection: null when a session may start (then call <see cref="SessionStarted"/> once it has,
    /// or has failed to), else why not. The new session is one more viewer against the cap. A polling session also
    /// counts against its address (<paramref name="sessionAddress"/>: give it to the session, which releases it); a
    /// direct WebSocket is its connection, whose address is counted already.
    /// </summary>
    public RefusalReason? AdmitSession(ref ConnectionQuota quota, bool polling, out ClientAddress? sessionAddress)
    {
        sessionAddress = null;
        if (_runtime.Stopping)
        {
            // A session opened now would be cut a moment later without its recovery record; the client's backoff
            // brings it to a gateway that stays (or to this one restarted).
            return RefusalReason.ShuttingDown;
        }

        if (_runtime.Drain.RefusesSessions)
        {
            // Draining (SIGTERM or POST /v1/drain): a session opened now would be closed within the window.
            return RefusalReason.Draining;
        }

        long now = _runtime.Wheel.Now;
        if (now - quota.HandshakeWindowStart >= HandshakeWindowMs || quota.Handshakes == 0)
        {
            quota.HandshakeWindowStart = now;
            quota.Handshakes = 0;
        }

        if (++quota.Handshakes > MaxHandshakesPerConnection)
        {
            return RefusalReason.HandshakesPerConnection;
        }

        if (_accepts is not null && !_accepts.TryTake(now))
        {
            return RefusalReason.AcceptRate;
        }

        // Reserved before it is checked: concurrent handshakes each see the others, and the cap is never overshot.
        if (Interlocked.Increment(ref _admitting) + _metrics.Connections > _maxConnections)
        {
            Interlocked.Decrement(ref _admitting);
            return RefusalReason.MaxConnections;
        }

        if (polling && quota.Address is ClientAddress address)
        {
            lock (_addressesLock)
            {
                if (!TryAcquireLocked(address))
                {
                    Interlocked.Decrement(ref _admitting);
                    return RefusalReason.MaxConnectionsPerIp;
                }
            }

            sessionAddress = address;
        }

        return null;
    }

    /// <summary>
    /// The session <see cref="AdmitSession"/> admitted has started (it counts as a session now), or will not start
    /// (its handshake failed): exactly once per admission.
    /// </summary>
    public void SessionStarted() => Interlocked.Decrement(ref _admitting);

    /// <summary>Gives back one count of an address (a connection's or a polling session's). Null: nothing.</summary>
    public void Release(ClientAddress? address)
    {
        if (address is null)
        {
            return;
        }

        lock (_addressesLock)
        {
            if (--address.Count == 0)
            {
                _addresses.Remove(address.Address);
            }
        }
    }

    // An entry is in the table while its count is above 0: a session acquires through its connection's entry,
    // which that connection holds.
    private bool TryAcquireLocked(ClientAddress entry)
    {
        if (entry.Count >= _limits.MaxConnectionsPerIp)
        {
            return false;
        }

        entry.Count++;
        return true;
    }

    /// <summary>Addresses with at least one connection or polling session (when the per-address cap is on).</summary>
    public int TrackedAddresses
    {
        get
        {
            lock (_addressesLock)
            {
                return _addresses.Count;
            }
        }
    }

    // ---- Request bodies -----------------------------------------------------------------------------------------

    /// <summary>Reserves <paramref name="bytes"/> for a body that is still arriving; false over <c>MaxPendingBodyBytes</c>.</summary>
    public bool TryReserveBody(long bytes)
    {
        if (Interlocked.Add(ref _pendingBodyBytes, bytes) <= _limits.MaxPendingBodyBytes)
        {
            return true;
        }

        Interlocked.Add(ref _pendingBodyBytes, -bytes);
        return false;
    }

    public void ReleaseBody(long bytes) => Interlocked.Add(ref _pendingBodyBytes, -bytes);

    // ---- The refusal --------------------------------------------------------------------------------------------

    /// <summary>
    /// Counts a refusal and writes its complete HTTP response (it ends the connection) into <paramref name="destination"/>
    /// (at least <see cref="MaxRefusalLength"/> bytes); returns its length. 503 with a jittered <c>Retry-After</c>
    /// for every limit a client may retry (socket.io-client reconnects with its own backoff), 403 for a foreign
    /// origin, 408 for a request that timed out.
    /// </summary>
    public int WriteRefusal(RefusalReason reason, Span<byte> destination)
    {
        _metrics.Refusal(reason);
        int status = StatusOf(reason);
        ReadOnlySpan<byte> statusLine = status switch
        {
            403 => "HTTP/1.1 403 Forbidden\r\n"u8,
            408 => "HTTP/1.1 408 Request Timeout\r\n"u8,
            _ => "HTTP/1.1 503 Service Unavailable\r\nRetry-After: "u8,
        };
        statusLine.CopyTo(destination);
        int length = statusLine.Length;
        if (status == 503)
        {
            // Jittered: refused clients told the same second would all come back in the same second.
            int seconds = Math.Max(1, (int)Math.Round(_limits.RetryAfter * (0.5 + Random.Shared.NextDouble()) / 1000));
            seconds.TryFormat(destination.Slice(length), out int digits, provider: System.Globalization.CultureInfo.InvariantCulture);
            length += digits;
            "\r\n"u8.CopyTo(destination.Slice(length));
            length += 2;
        }

        byte[] tail = _responseTails[(int)reason];
        tail.CopyTo(destination.Slice(length));
        return length + tail.Length;
    }

    private static int StatusOf(RefusalReason reason) => reason switch
    {
        RefusalReason.Origin => 403,
        RefusalReason.RequestHeadTimeout or RefusalReason.RequestBodyTimeout => 408,
        _ => 503,
    };

    // The headers after the status line (and Retry-After) and the body: {"reason":"<label>"}.
    private static byte[] ResponseTail(RefusalReason reason)
    {
        string body = "{\"reason\":\"" + reason.Label() + "\"}";
        string tail = $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
        byte[] bytes = System.Text.Encoding.ASCII.GetBytes(tail);
        if (bytes.Length + 64 > MaxRefusalLength)
        {
            throw new InvalidOperationException($"refusal response for {reason} too long");
        }

        return bytes;
    }
}
