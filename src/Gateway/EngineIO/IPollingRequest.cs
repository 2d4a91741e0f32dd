namespace Gateway.EngineIO;

/// <summary>
/// An HTTP connection carrying one polling request, as a session sees it: the session may hold it (a GET waiting for
/// packets), answer it later from another thread, or abort it. Implemented by the transport.
/// </summary>
internal interface IPollingRequest
{
    /// <summary>The session holding this connection's GET, told when the connection ends first.</summary>
    EngineSession? ParkedFor { get; set; }

    /// <summary>The session whose POST this connection is carrying, told when the connection ends first.</summary>
    EngineSession? DataFor { get; set; }

    /// <summary>Writes a complete response and sends it (thread-safe).</summary>
    void Respond(int status, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body, ReadOnlySpan<byte> extraHeaders = default);

    /// <summary>Ends the connection without an answer (its request lost an overlap, or its peer reads no answers).</summary>
    void Abort();

    /// <summary>
    /// Whether more than <paramref name="maxBytes"/> of answers wait beyond the connection's transport buffer (the peer
    /// sends requests and does not read the answers): the session is then a slow consumer.
    /// </summary>
    bool IsOverCap(long maxBytes);
}
