namespace Gateway.EngineIO;

/// <summary>
/// Why an Engine.IO session ended. Read by whoever needs it — recovery (<see cref="CloseReasons.IsRecoverable"/>),
/// logs, metrics — never parsed from a string.
/// </summary>
internal enum CloseReason
{
    /// <summary>The client's TCP connection ended (socket.io: "transport close").</summary>
    TransportClosed,

    /// <summary>The transport failed under us: a send or flush threw (socket.io: "transport error").</summary>
    TransportError,

    /// <summary>The client sent a WebSocket close frame.</summary>
    ClientClosedWebSocket,

    /// <summary>The client sent the Engine.IO close packet (socket.io-client's <c>disconnect()</c>).</summary>
    ClientClose,

    /// <summary>A pending polling GET's connection ended before it was answered.</summary>
    PollClosedPrematurely,

    /// <summary>A second GET, or a second POST, arrived while one was in progress (engine.io closes the session).</summary>
    PollOverlap,

    /// <summary>The client broke the protocol (bad frame, bad packet, bad UTF-8): the session is not recoverable.</summary>
    ProtocolError,

    /// <summary>A message or polling body over <c>MaxPayload</c>.</summary>
    PayloadTooLarge,

    /// <summary>No Socket.IO CONNECT within <c>ConnectTimeout</c>.</summary>
    ConnectTimeout,

    /// <summary>No pong within <c>PingTimeout</c> of a ping.</summary>
    PingTimeout,

    /// <summary>The session fell a whole ring behind or over its outbound byte cap.</summary>
    SlowConsumer,

    /// <summary>An operator's disconnect through the admin API.</summary>
    AdminDisconnect,

    /// <summary>The gateway is stopping.</summary>
    ServerShutdown,

    /// <summary>A drain closed it in its turn (SIGTERM or <c>POST /v1/drain</c>): recoverable on another gateway.</summary>
    Drained,

    /// <summary>The prompt stream had a gap or was replaced: clients resync.</summary>
    StreamGap,

    /// <summary>A gateway bug while serving the session (an exception in the fan-out).</summary>
    ServerError,

    /// <summary>
    /// Its WebSocket upgrade landed on another gateway of the region, which took the session over: it lives on there,
    /// nothing is saved here.
    /// </summary>
    HandedOver,
}

/// <summary>What each <see cref="CloseReason"/> implies.</summary>
internal static class CloseReasons
{
    /// <summary>
    /// Whether the sockets of a session closed for this reason may be recovered (their state is saved): every reason
    /// but a protocol violation, as socket.io's recoverable disconnects (transport close/error, ping timeout, server
    /// shutdown, forced close) are.
    /// </summary>
    public static bool IsRecoverable(this CloseReason reason) => reason is not (CloseReason.ProtocolError or CloseReason.HandedOver);

    /// <summary>The metric tag of each reason, by number: snake_case of the enum name ("ping_timeout").</summary>
    public static readonly string[] Names = Enum.GetValues<CloseReason>()
        .Select(reason => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(reason.ToString()))
        .ToArray();

    /// <summary>The text logs use (stable: operators grep for it).</summary>
    public static string ToText(this CloseReason reason) => reason switch
    {
        CloseReason.TransportClosed => "transport close",
        CloseReason.TransportError => "transport error",
        CloseReason.ClientClosedWebSocket => "client closed websocket",
        CloseReason.ClientClose => "client close",
        CloseReason.PollClosedPrematurely => "poll connection closed prematurely",
        CloseReason.PollOverlap => "poll overlap",
        CloseReason.ProtocolError => "protocol error",
        CloseReason.PayloadTooLarge => "payload too large",
        CloseReason.ConnectTimeout => "connect timeout",
        CloseReason.PingTimeout => "ping timeout",
        CloseReason.SlowConsumer => "slow consumer",
        CloseReason.AdminDisconnect => "admin disconnect",
        CloseReason.ServerShutdown => "server shutting down",
        CloseReason.Drained => "server draining",
        CloseReason.StreamGap => "prompt stream gap",
        CloseReason.ServerError => "server error",
        CloseReason.HandedOver => "handed over",
        _ => reason.ToString(),
    };
}
