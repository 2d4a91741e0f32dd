namespace Gateway.Diagnostics;

/// <summary>
/// Why a connection or a handshake was refused (or a connection ended before it became a viewer): the <c>reason</c>
/// label of <c>gateway.connections.refused</c> and the keys of <c>refused</c> in <c>/v1/stats</c>. Adding a reason is
/// one member here; its label is the member's name in snake_case (<see cref="RefusalReasons.Label"/>).
/// </summary>
public enum RefusalReason
{
    /// <summary><c>Gateway:MaxConnections</c>: the viewers at the cap, or the descriptors all taken (503).</summary>
    MaxConnections,

    /// <summary><c>Gateway:Limits:MaxConnectionsPerIp</c> for the client's address (503).</summary>
    MaxConnectionsPerIp,

    /// <summary><c>Gateway:Limits:AcceptRate</c>: the token bucket of new sessions is empty (503).</summary>
    AcceptRate,

    /// <summary>One connection opened more handshakes than <c>Admission.MaxHandshakesPerConnection</c> allows (503).</summary>
    HandshakesPerConnection,

    /// <summary>The process is stopping: no new session (503).</summary>
    ShuttingDown,

    /// <summary>A drain (SIGTERM or <c>POST /v1/drain</c>) refuses new sessions (503).</summary>
    Draining,

    /// <summary>A WebSocket upgrade from an <c>Origin</c> not in <c>Gateway:Cors:Origins</c> (403).</summary>
    Origin,

    /// <summary>No complete request head within <c>Gateway:Limits:RequestHeadTimeout</c> (closed; 408 after a partial head).</summary>
    RequestHeadTimeout,

    /// <summary>A request body slower than its deadline or minimum data rate (408, closed).</summary>
    RequestBodyTimeout,

    /// <summary>Incomplete request bodies already hold <c>Gateway:Limits:MaxPendingBodyBytes</c> (503).</summary>
    PendingBodyBytes,

    /// <summary>A connection that had sent no complete request head, closed to make room for a new one at the cap.</summary>
    EvictedIdle,
}

/// <summary>The labels of <see cref="RefusalReason"/>, computed once.</summary>
public static class RefusalReasons
{
    private static readonly string[] s_labels = Enum.GetNames<RefusalReason>().Select(SnakeCase).ToArray();

    /// <summary>Every reason, by number.</summary>
    public static IReadOnlyList<string> Labels => s_labels;

    public static int Count => s_labels.Length;

    /// <summary>The low-cardinality label (<c>max_connections_per_ip</c>).</summary>
    public static string Label(this RefusalReason reason) => s_labels[(int)reason];

    private static string SnakeCase(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
