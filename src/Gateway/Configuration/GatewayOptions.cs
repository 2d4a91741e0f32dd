namespace Gateway.Configuration;

/// <summary>The <c>Gateway</c> configuration section. Every limit has a safe default; see <see cref="Validate"/>.</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "Gateway";

    /// <summary>Largest send-ahead, ms: a prompt is not held in viewers' pages longer than this before its reveal.</summary>
    public const int MaxSendAhead = 600_000;

    /// <summary>Public Socket.IO port.</summary>
    public int Port { get; set; } = 3000;

    /// <summary>Address the public port binds to.</summary>
    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary>Admin API port (publish, health, stats).</summary>
    public int AdminPort { get; set; } = 3001;

    /// <summary>Address the admin port binds to: loopback unless deliberately exposed.</summary>
    public string AdminBindAddress { get; set; } = "127.0.0.1";

    /// <summary>
    /// Port serving only <c>/healthz</c> and <c>/readyz</c> on <see cref="BindAddress"/>, so a load balancer can check
    /// readiness while the admin API stays on loopback; every other path answers 404. 0 = off.
    /// </summary>
    public int HealthPort { get; set; }

    /// <summary>When set, admin requests other than health checks need <c>Authorization: Bearer &lt;token&gt;</c>.</summary>
    public string? AdminToken { get; set; }

    /// <summary>Engine.IO path, as socket.io's <c>path</c> option.</summary>
    public string Path { get; set; } = "/socket.io/";

    /// <summary>Socket.IO namespaces served. Defaults to <c>/</c> only.</summary>
    public List<string> Namespaces { get; set; } = [];

    /// <summary>Milliseconds between server pings (socket.io default 25000).</summary>
    public int PingInterval { get; set; } = 25000;

    /// <summary>Milliseconds to wait for a pong (socket.io default 20000).</summary>
    public int PingTimeout { get; set; } = 20000;

    /// <summary>Milliseconds a session may stay without any namespace (socket.io default 45000).</summary>
    public int ConnectTimeout { get; set; } = 45000;

    /// <summary>Milliseconds an upgrade may take between the probe and the upgrade packet (engine.io 10000).</summary>
    public int UpgradeTimeout { get; set; } = 10000;

    /// <summary>Largest message (WebSocket) or POST body (polling), bytes (socket.io's maxHttpBufferSize, 1e6).</summary>
    public int MaxPayload { get; set; } = 1_000_000;

    /// <summary>Largest HTTP request head, bytes.</summary>
    public int MaxRequestHeadLength { get; set; } = 8192;

    /// <summary>
    /// Viewers on the public port: Engine.IO sessions of either transport (a handshake beyond it gets HTTP 503), and
    /// also the most connections that have not sent a request head (one more evicts the oldest idle one). 0 =
    /// automatic: the process's open-files limit less the descriptors open at start less a reserve. Whatever it is,
    /// TCP connections stop at that many, so that the runtime never runs out of descriptors (reading <c>/proc</c>,
    /// loading an assembly) and the gateway stays up at the limit.
    /// </summary>
    public int MaxConnections { get; set; }

    /// <summary>
    /// Each public-port connection starts with a PROXY protocol v1/v2 header (AWS NLB with proxy protocol v2, HAProxy
    /// <c>send-proxy-v2</c>) naming the client; a connection without a valid one is closed. Off: no header is read
    /// (one that arrives is a malformed HTTP request, 400), so the option must match the balancer exactly.
    /// </summary>
    public bool ProxyProtocol { get; set; }

    /// <summary>How long a connection may take to send its PROXY header, ms (the spec asks for at least 3 s: a TCP retransmit).</summary>
    public int ProxyProtocolTimeout { get; set; } = 5000;

    /// <summary>Channels one socket may be in (per namespace).</summary>
    public int MaxChannelsPerSocket { get; set; } = 32;

    /// <summary>Broadcast ring slots (rounded up to a power of two): how far a socket may fall behind.</summary>
    public int RingCapacity { get; set; } = 4096;

    /// <summary>Bytes a socket may have queued but not sent before it counts as a slow consumer.</summary>
    public int MaxOutboundBytes { get; set; } = 1 << 20;

    /// <summary>Fan-out threads; 0 = one per core.</summary>
    public int FanOutWorkers { get; set; }

    /// <summary>
    /// The fan-out threads' nice value (Linux, −20…19; 0 = the process's). Negative puts a prompt's pass ahead of the
    /// transport's other work, such as refusing a connection flood; it needs CAP_SYS_NICE or the unit's LimitNICE=.
    /// </summary>
    public int FanOutNice { get; set; }

    public CorsOptions Cors { get; set; } = new();

    public ChannelsOptions Channels { get; set; } = new();
    public LimitsOptions Limits { get; set; } = new();

    public DiagnosticsOptions Diagnostics { get; set; } = new();

    public MetricsOptions Metrics { get; set; } = new();

    public RedisOptions Redis { get; set; } = new();

    public RecoveryOptions Recovery { get; set; } = new();

    public LateJoinOptions LateJoin { get; set; } = new();

    public AnswersOptions Answers { get; set; } = new();

    public AuthOptions Auth { get; set; } = new();

    public StatsOptions Stats { get; set; } = new();

    public DrainOptions Drain { get; set; } = new();

    public RevealOptions Reveal { get; set; } = new();

    public DemoOptions Demo { get; set; } = new();

    public RegionOptions Region { get; set; } = new();

    public MemoryOptions Memory { get; set; } = new();

    /// <summary>Redis mode: prompts come from the region's stream; answers and recoverable sessions go to it.</summary>
    public bool RedisMode => !string.IsNullOrWhiteSpace(Redis.Configuration);

    public sealed class RedisOptions
    {
        /// <summary>StackExchange.Redis configuration string (Sentinel: <c>serviceName=</c>). Empty: embedded mode.</summary>
        public string? Configuration { get; set; }

        /// <summary>The prompt stream; its wake-up channel is this key + <c>:wake</c>.</summary>
        public string PromptStream { get; set; } = Streams.PromptStream.DefaultKey;

        /// <summary>Where answers are appended.</summary>
        public string AnswerStream { get; set; } = "gateway:answers";

        /// <summary>Key prefix of the recoverable-session records (one per disconnected socket, expiring).</summary>
        public string SessionPrefix { get; set; } = "gateway:session:";

        /// <summary><c>MAXLEN ~</c> of prompts written by the admin publish.</summary>
        public long PromptMaxLength { get; set; } = Streams.PromptStream.DefaultMaxLength;

        /// <summary><c>MAXLEN ~</c> of the answers stream.</summary>
        public long AnswerMaxLength { get; set; } = 1_000_000;

        /// <summary>Milliseconds between stream reads when no wake-up arrives.</summary>
        public int PollInterval { get; set; } = 100;

        /// <summary>Prompt ids remembered to skip a prompt published twice (a retried XADD).</summary>
        public int DedupWindow { get; set; } = 100_000;

        /// <summary>Key prefix of the one-answer-per-viewer markers (<c>SET NX PX</c>, one per viewer and prompt).</summary>
        public string AnsweredPrefix { get; set; } = "gateway:answered:";

        /// <summary>Per prompt, a hash of stored answers by choice (the region's tally, written with each answer).</summary>
        public string TallyPrefix { get; set; } = "gateway:tally:";

        /// <summary>Hash of the region's instances: each one's counts and readiness, written with its heartbeat.</summary>
        public string RegionKey { get; set; } = "gateway:region";

        /// <summary>Latest <c>reveal_at</c> accepted, in ms after the entry's stream time (later ones are skipped and counted).</summary>
        public int MaxRevealAhead { get; set; } = 600_000;
    }

    public sealed class RecoveryOptions
    {
        /// <summary>Offer socket.io connection-state recovery (Redis mode only).</summary>
        public bool Enabled { get; set; } = true;

        /// <summary>Milliseconds a disconnected socket stays recoverable (socket.io's maxDisconnectionDuration).</summary>
        public int MaxDisconnection { get; set; } = 120_000;

        /// <summary>Most prompts replayed to one recovering socket; a longer gap is answered with recovered: false.</summary>
        public int MaxReplay { get; set; } = 10_000;
    }

    public sealed class LateJoinOptions
    {
        /// <summary>
        /// Milliseconds a channel's last prompt stays "current" for sockets that join later; 0 turns it off. Unset:
        /// 30000 in Redis mode, off in embedded mode (where a test bench expects only what it publishes next).
        /// </summary>
        public int? MaxAge { get; set; }
    }

    public sealed class AnswersOptions
    {
        /// <summary>Answers waiting for Redis; beyond it an answer is refused ("busy").</summary>
        public int MaxPending { get; set; } = 100_000;

        /// <summary>Answers one socket may send per second (burst: twice that).</summary>
        public int PerSocketPerSecond { get; set; } = 5;

        /// <summary>
        /// Milliseconds a viewer's answer to a prompt is remembered region-wide (the Redis marker's expiry): a second
        /// answer within it is refused as a duplicate.
        /// </summary>
        public int DuplicateWindow { get; set; } = 3_600_000;

        /// <summary>(viewer, prompt) pairs this gateway remembers itself, so a repeat never costs a Redis round trip.</summary>
        public int RememberedLocally { get; set; } = 100_000;
    }

    public sealed class AuthOptions
    {
        public JwtOptions Jwt { get; set; } = new();
    }

    /// <summary>Viewer identity: a JWT in the CONNECT auth (<c>{"token":"…"}</c>). Off unless a key is set.</summary>
    public sealed class JwtOptions
    {
        /// <summary>HS256 shared secret (UTF-8, at least 32 bytes).</summary>
        public string? Secret { get; set; }

        /// <summary>PEM file with the RS256 (RSA) or ES256 (EC P-256) public key.</summary>
        public string? PublicKeyFile { get; set; }

        /// <summary>Required <c>iss</c>, when set.</summary>
        public string? Issuer { get; set; }

        /// <summary>Required <c>aud</c>, when set.</summary>
        public string? Audience { get; set; }

        /// <summary>Milliseconds of clock difference tolerated on <c>exp</c> and <c>nbf</c>.</summary>
        public int ClockSkew { get; set; } = 30_000;

        /// <summary>A key is configured: every CONNECT needs a valid token.</summary>
        public bool Enabled => !string.IsNullOrEmpty(Secret) || !string.IsNullOrEmpty(PublicKeyFile);
    }

    public sealed class StatsOptions
    {
        /// <summary>Channels listed by member count in <c>/v1/stats</c> and the region's counts (the largest N).</summary>
        public int TopChannels { get; set; } = 10;
    }

    /// <summary>The channel registry's bounds: no client creating names can exhaust it for everyone.</summary>
    public sealed class ChannelsOptions
    {
        /// <summary>Channel names in use at once, gateway-wide (a name is freed when its last socket leaves).</summary>
        public int Max { get; set; } = 100_000;

        /// <summary>Names one Socket.IO socket may create (join while nobody is in them) over its life.</summary>
        public int NewPerSocket { get; set; } = 32;

        /// <summary>Names created per second, gateway-wide (a token bucket; burst one second's worth).</summary>
        public int NewPerSecond { get; set; } = 1000;
    }

    /// <summary>Admission: what a connection may cost before it is a viewer, and how fast sessions may arrive.</summary>
    public sealed class LimitsOptions
    {
        /// <summary>
        /// Milliseconds a connection may take to send a complete request head, from its accept or from the end of its
        /// previous request (an idle keep-alive connection); then it is closed (slowloris, idle sockets).
        /// </summary>
        public int RequestHeadTimeout { get; set; } = 10_000;

        /// <summary>Milliseconds a request body (a polling POST) may take from its head to its last byte.</summary>
        public int RequestBodyTimeout { get; set; } = 30_000;

        /// <summary>
        /// Bytes per second a request body must average once <see cref="RequestBodyGracePeriod"/> has passed
        /// (Kestrel's MinRequestBodyDataRate); 0 = no rate check.
        /// </summary>
        public int MinRequestBodyDataRate { get; set; } = 240;

        /// <summary>Milliseconds a request body may take before <see cref="MinRequestBodyDataRate"/> applies.</summary>
        public int RequestBodyGracePeriod { get; set; } = 5000;

        /// <summary>
        /// Bytes all incomplete request bodies may hold together (each reserves its Content-Length while it arrives);
        /// a body beyond it gets 503.
        /// </summary>
        public long MaxPendingBodyBytes { get; set; } = 64L << 20;

        /// <summary>New Engine.IO sessions per second for this instance (token bucket); 0 = no limit.</summary>
        public int AcceptRate { get; set; }

        /// <summary>Sessions that may start at once when the bucket is full; 0 = <see cref="AcceptRate"/>.</summary>
        public int AcceptBurst { get; set; }

        /// <summary>TCP connections plus polling sessions of one client address; 0 = no limit (carrier NAT: be generous).</summary>
        public int MaxConnectionsPerIp { get; set; }

        /// <summary>Milliseconds a refused client is told to wait (<c>Retry-After</c>, jittered ±50 %, whole seconds, at least 1).</summary>
        public int RetryAfter { get; set; } = 5000;
    }

    /// <summary>The paced drain on SIGTERM and <c>POST /v1/drain</c> (the README's "Drain").</summary>
    public sealed class DrainOptions
    {
        /// <summary>Longest <see cref="Delay"/> or <see cref="Window"/>, ms: a drain must end within a deploy.</summary>
        public const int MaxMilliseconds = 3_600_000;

        /// <summary>
        /// Milliseconds between readiness turning 503 (new sessions refused) and the first close: the load balancer's
        /// deregistration delay, so that it stops sending new connections before sockets begin to leave.
        /// </summary>
        public int Delay { get; set; } = 5000;

        /// <summary>Milliseconds over which the sockets are closed, evenly paced, in random order.</summary>
        public int Window { get; set; } = 30000;
    }

    public sealed class RevealOptions
    {
        /// <summary>
        /// Milliseconds before its <c>reveal_at</c> a timed prompt is pushed, with the reveal instant attached, so that
        /// viewers show it at that instant on the server's clock; 0 = pushed at <c>reveal_at</c> (no instant attached).
        /// A prompt may override it (<c>sendAhead</c> in the admin publish, <c>send_ahead</c> in the stream).
        /// </summary>
        public int SendAhead { get; set; }
    }

    public sealed class RegionOptions
    {
        /// <summary>
        /// Redis mode: <c>host:port</c> at which the other gateways of the region reach this one's public port (they
        /// forward a session's polling requests to it and ask it to hand a session over to them). Default: the
        /// machine's first non-loopback IPv4 address and <see cref="Port"/>.
        /// </summary>
        public string? Advertise { get; set; }
    }

    public sealed class MemoryOptions
    {
        /// <summary>
        /// Milliseconds of quiet (no garbage collection) after which memory a peak left behind is given back to the OS
        /// with one aggressive collection; 0 = never (the GC alone keeps what it committed while nothing allocates).
        /// </summary>
        public int TrimAfterQuiet { get; set; } = 30_000;

        /// <summary>
        /// Bytes that must have become garbage first: evicted from the transport's memory pool since the last trim,
        /// or heap growth beyond twice what was live after it.
        /// </summary>
        public long TrimAboveBytes { get; set; } = 64L << 20;
    }

    public sealed class DemoOptions
    {
        /// <summary>Serves the demo viewer page at <c>/demo/</c> on the public port.</summary>
        public bool Enabled { get; set; }
    }

    public sealed class CorsOptions
    {
        /// <summary>Allowed origins (exact, or <c>*</c>). Empty: no CORS headers, as socket.io without <c>cors</c>.</summary>
        public List<string> Origins { get; set; } = [];

        public bool Credentials { get; set; }
    }

    public sealed class DiagnosticsOptions
    {
        /// <summary>Enables the <c>echo</c>, <c>ack</c> and <c>auth</c> probe events.</summary>
        public bool Echo { get; set; }

        /// <summary>
        /// Tracks every prompt's fan-out (recipients, first and last socket write): <c>GET /v1/prompts</c>, the
        /// lifecycle log line and the fan-out histogram. Off only to measure what it costs.
        /// </summary>
        public bool PromptLifecycle { get; set; } = true;

        /// <summary>Interval of the aggregate traffic log line (ms; 0 = off). Written only when something changed.</summary>
        public int TrafficLogInterval { get; set; } = 10_000;
    }

    /// <summary>The OpenTelemetry metrics pipeline behind <c>GET /metrics</c>.</summary>
    public sealed class MetricsOptions
    {
        /// <summary>
        /// Collects the gateway's and the runtime's meters and serves them at <c>/metrics</c>. Off: no meter listener
        /// (histograms record nothing) and <c>/metrics</c> answers 404; <c>/v1/stats</c> keeps its counters. Off only
        /// to measure what metrics cost.
        /// </summary>
        public bool Enabled { get; set; } = true;
    }

    /// <summary>Fills defaults that depend on other values.</summary>
    public void Normalize()
    {
        if (Namespaces.Count == 0)
        {
            Namespaces.Add("/");
        }

        if (!Path.EndsWith('/'))
        {
            Path += "/";
        }

        LateJoin.MaxAge ??= RedisMode ? 30_000 : 0;
    }

    /// <summary>Returns one message per invalid key, naming the key.</summary>
    public IEnumerable<string> Validate()
    {
        if (Region.Advertise is { } advertise && !TryParseHostPort(advertise, out _, out _))
        {
            yield return $"Gateway:Region:Advertise must be host:port (was '{advertise}').";
        }

        if (Memory.TrimAfterQuiet < 0)
        {
            yield return $"Gateway:Memory:TrimAfterQuiet must be 0 (off) or a number of milliseconds (was {Memory.TrimAfterQuiet}).";
        }

        if (Memory.TrimAboveBytes < 1)
        {
            yield return $"Gateway:Memory:TrimAboveBytes must be at least 1 (was {Memory.TrimAboveBytes}).";
        }

        if (Port is < 0 or > 65535)
        {
            yield return $"Gateway:Port must be 0–65535 (was {Port}).";
        }

        if (AdminPort is < 0 or > 65535)
        {
            yield return $"Gateway:AdminPort must be 0–65535 (was {AdminPort}).";
        }

        if (Port != 0 && Port == AdminPort)
        {
            yield return $"Gateway:AdminPort must differ from Gateway:Port (both {Port}).";
        }

        if (HealthPort is < 0 or > 65535)
        {
            yield return $"Gateway:HealthPort must be 0 (off) or 1–65535 (was {HealthPort}).";
        }
        else if (HealthPort != 0 && (HealthPort == Port || HealthPort == AdminPort))
        {
            yield return $"Gateway:HealthPort must differ from Gateway:Port and Gateway:AdminPort (was {HealthPort}).";
        }

        if (!System.Net.IPAddress.TryParse(BindAddress, out _))
        {
            yield return $"Gateway:BindAddress must be an IP address (was '{BindAddress}').";
        }

        if (!System.Net.IPAddress.TryParse(AdminBindAddress, out _))
        {
            yield return $"Gateway:AdminBindAddress must be an IP address (was '{AdminBindAddress}').";
        }

        if (string.IsNullOrEmpty(Path) || Path[0] != '/' || Path.Contains('?'))
        {
            yield return $"Gateway:Path must start with '/' and hold no query (was '{Path}').";
        }

        for (int i = 0; i < Namespaces.Count; i++)
        {
            string ns = Namespaces[i];
            if (string.IsNullOrEmpty(ns) || ns[0] != '/' || ns.Contains(',') || ns.Any(c => c > 0x7E || c <= 0x20))
            {
                yield return $"Gateway:Namespaces:{i} must start with '/' and be printable ASCII without ',' (was '{ns}').";
            }
        }

        if (Namespaces.Distinct(StringComparer.Ordinal).Count() != Namespaces.Count)
        {
            yield return "Gateway:Namespaces lists a namespace twice.";
        }

        if (PingInterval < 1)
        {
            yield return $"Gateway:PingInterval must be > 0 ms (was {PingInterval}).";
        }

        if (PingTimeout < 1)
        {
            yield return $"Gateway:PingTimeout must be > 0 ms (was {PingTimeout}).";
        }

        if (ConnectTimeout < 1)
        {
            yield return $"Gateway:ConnectTimeout must be > 0 ms (was {ConnectTimeout}).";
        }

        if (UpgradeTimeout < 1)
        {
            yield return $"Gateway:UpgradeTimeout must be > 0 ms (was {UpgradeTimeout}).";
        }

        if (MaxPayload < 1)
        {
            yield return $"Gateway:MaxPayload must be > 0 bytes (was {MaxPayload}).";
        }

        if (MaxRequestHeadLength < 256)
        {
            yield return $"Gateway:MaxRequestHeadLength must be >= 256 bytes (was {MaxRequestHeadLength}).";
        }

        if (MaxConnections < 0)
        {
            yield return $"Gateway:MaxConnections must be >= 0 (was {MaxConnections}).";
        }

        if (ProxyProtocolTimeout < 1)
        {
            yield return $"Gateway:ProxyProtocolTimeout must be > 0 ms (was {ProxyProtocolTimeout}).";
        }

        if (MaxChannelsPerSocket < 0)
        {
            yield return $"Gateway:MaxChannelsPerSocket must be >= 0 (was {MaxChannelsPerSocket}).";
        }

        if (Channels.Max < 1)
        {
            yield return $"Gateway:Channels:Max must be > 0 (was {Channels.Max}).";
        }

        if (Channels.NewPerSocket < 1)
        {
            yield return $"Gateway:Channels:NewPerSocket must be > 0 (was {Channels.NewPerSocket}).";
        }

        if (Channels.NewPerSecond < 1)
        {
            yield return $"Gateway:Channels:NewPerSecond must be > 0 (was {Channels.NewPerSecond}).";
        }

        if (RingCapacity is < 16 or > (1 << 20))
        {
            yield return $"Gateway:RingCapacity must be 16–1048576 (was {RingCapacity}).";
        }

        if (MaxOutboundBytes < 4096)
        {
            yield return $"Gateway:MaxOutboundBytes must be >= 4096 (was {MaxOutboundBytes}).";
        }

        if (FanOutWorkers is < 0 or > 256)
        {
            yield return $"Gateway:FanOutWorkers must be 0–256 (was {FanOutWorkers}).";
        }

        if (FanOutNice is < -20 or > 19)
        {
            yield return $"Gateway:FanOutNice must be -20–19 (was {FanOutNice}).";
        }

        if (RedisMode)
        {
            foreach ((string key, string value) in new[] { ("PromptStream", Redis.PromptStream), ("AnswerStream", Redis.AnswerStream), ("SessionPrefix", Redis.SessionPrefix), ("AnsweredPrefix", Redis.AnsweredPrefix), ("TallyPrefix", Redis.TallyPrefix), ("RegionKey", Redis.RegionKey) })
            {
                if (string.IsNullOrWhiteSpace(value))
                {
                    yield return $"Gateway:Redis:{key} must not be empty.";
                }
            }

            // The configuration string itself is checked by the Redis adapter (RedisOptionsValidation), which knows
            // its syntax; nothing outside Redis/ names StackExchange.Redis.
        }

        if (Redis.PromptMaxLength < 1 || Redis.AnswerMaxLength < 1)
        {
            yield return "Gateway:Redis:PromptMaxLength and Gateway:Redis:AnswerMaxLength must be > 0.";
        }

        if (Redis.PollInterval is < 1 or > 60_000)
        {
            yield return $"Gateway:Redis:PollInterval must be 1–60000 ms (was {Redis.PollInterval}).";
        }

        if (Redis.DedupWindow < 16)
        {
            yield return $"Gateway:Redis:DedupWindow must be >= 16 (was {Redis.DedupWindow}).";
        }

        if (Redis.MaxRevealAhead < 0)
        {
            yield return $"Gateway:Redis:MaxRevealAhead must be >= 0 ms (was {Redis.MaxRevealAhead}).";
        }

        if (Reveal.SendAhead is < 0 or > MaxSendAhead)
        {
            yield return $"Gateway:Reveal:SendAhead must be 0–{MaxSendAhead} ms (was {Reveal.SendAhead}).";
        }

        if (Recovery.MaxDisconnection < 1)
        {
            yield return $"Gateway:Recovery:MaxDisconnection must be > 0 ms (was {Recovery.MaxDisconnection}).";
        }

        if (Recovery.MaxReplay < 1)
        {
            yield return $"Gateway:Recovery:MaxReplay must be > 0 (was {Recovery.MaxReplay}).";
        }

        if (LateJoin.MaxAge is < 0)
        {
            yield return $"Gateway:LateJoin:MaxAge must be >= 0 ms (was {LateJoin.MaxAge}).";
        }

        if (Answers.MaxPending < 1)
        {
            yield return $"Gateway:Answers:MaxPending must be > 0 (was {Answers.MaxPending}).";
        }

        if (Diagnostics.TrafficLogInterval < 0)
        {
            yield return $"Gateway:Diagnostics:TrafficLogInterval must be >= 0 ms (was {Diagnostics.TrafficLogInterval}).";
        }

        if (Answers.PerSocketPerSecond < 1)
        {
            yield return $"Gateway:Answers:PerSocketPerSecond must be > 0 (was {Answers.PerSocketPerSecond}).";
        }

        if (Answers.DuplicateWindow < 1000)
        {
            yield return $"Gateway:Answers:DuplicateWindow must be >= 1000 ms (was {Answers.DuplicateWindow}).";
        }

        if (Answers.RememberedLocally < 0)
        {
            yield return $"Gateway:Answers:RememberedLocally must be >= 0 (was {Answers.RememberedLocally}).";
        }

        if (!string.IsNullOrEmpty(Auth.Jwt.Secret) && !string.IsNullOrEmpty(Auth.Jwt.PublicKeyFile))
        {
            yield return "Gateway:Auth:Jwt:Secret and Gateway:Auth:Jwt:PublicKeyFile are exclusive (HS256, or RS256/ES256).";
        }

        if (!string.IsNullOrEmpty(Auth.Jwt.Secret) && System.Text.Encoding.UTF8.GetByteCount(Auth.Jwt.Secret) < 32)
        {
            yield return "Gateway:Auth:Jwt:Secret must be at least 32 bytes (HS256 needs a 256-bit key).";
        }

        if (!Auth.Jwt.Enabled && (!string.IsNullOrEmpty(Auth.Jwt.Issuer) || !string.IsNullOrEmpty(Auth.Jwt.Audience)))
        {
            yield return "Gateway:Auth:Jwt:Issuer / Audience need Gateway:Auth:Jwt:Secret or Gateway:Auth:Jwt:PublicKeyFile.";
        }

        if (Auth.Jwt.ClockSkew is < 0 or > 600_000)
        {
            yield return $"Gateway:Auth:Jwt:ClockSkew must be 0–600000 ms (was {Auth.Jwt.ClockSkew}).";
        }

        if (Stats.TopChannels is < 0 or > 1000)
        {
            yield return $"Gateway:Stats:TopChannels must be 0–1000 (was {Stats.TopChannels}).";
        }

        foreach ((string key, long value, long min) in new[]
        {
            ("RequestHeadTimeout", (long)Limits.RequestHeadTimeout, 1L), ("RequestBodyTimeout", Limits.RequestBodyTimeout, 1L),
            ("MinRequestBodyDataRate", Limits.MinRequestBodyDataRate, 0L), ("RequestBodyGracePeriod", Limits.RequestBodyGracePeriod, 0L),
            ("MaxPendingBodyBytes", Limits.MaxPendingBodyBytes, MaxPayload), ("AcceptRate", Limits.AcceptRate, 0L), ("AcceptBurst", Limits.AcceptBurst, 0L),
            ("MaxConnectionsPerIp", Limits.MaxConnectionsPerIp, 0L), ("RetryAfter", Limits.RetryAfter, 1000L),
        })
        {
            if (value < min)
            {
                yield return $"Gateway:Limits:{key} must be >= {min} (was {value}).";
            }
        }

        if (Limits.RetryAfter > 3_600_000)
        {
            yield return $"Gateway:Limits:RetryAfter must be <= 3600000 ms (was {Limits.RetryAfter}).";
        }

        if (Drain.Delay is < 0 or > DrainOptions.MaxMilliseconds)
        {
            yield return $"Gateway:Drain:Delay must be 0–{DrainOptions.MaxMilliseconds} ms (was {Drain.Delay}).";
        }

        if (Drain.Window is < 0 or > DrainOptions.MaxMilliseconds)
        {
            yield return $"Gateway:Drain:Window must be 0–{DrainOptions.MaxMilliseconds} ms (was {Drain.Window}).";
        }

        for (int i = 0; i < Cors.Origins.Count; i++)
        {
            string origin = Cors.Origins[i];
            if (origin != "*" && !Uri.TryCreate(origin, UriKind.Absolute, out _))
            {
                yield return $"Gateway:Cors:Origins:{i} must be '*' or an absolute origin like https://example.com (was '{origin}').";
            }
        }
    }

    /// <summary>Reads <c>host:port</c> (an IPv6 host in brackets).</summary>
    public static bool TryParseHostPort(string value, out string host, out int port)
    {
        host = "";
        port = 0;
        int colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            return false;
        }

        host = value[..colon].Trim('[', ']');
        return host.Length > 0 && Uri.CheckHostName(host) != UriHostNameType.Unknown;
    }
}
