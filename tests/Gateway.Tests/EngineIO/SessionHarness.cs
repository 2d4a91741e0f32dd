using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Gateway.Configuration;
using Gateway.EngineIO;
using Gateway.Protocol.WebSockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.EngineIO;

/// <summary>
/// A real <see cref="GatewayRuntime"/> on a fake clock, with none of its threads started: tests advance time, run the
/// wheel and pump the fan-out themselves, and read what sessions wrote from in-memory pipes.
/// </summary>
internal sealed class SessionHarness : IDisposable
{
    public SessionHarness(Action<GatewayOptions>? configure = null)
    {
        var options = new GatewayOptions { FanOutWorkers = 1, PingInterval = 25_000, PingTimeout = 20_000, ConnectTimeout = 45_000 };
        configure?.Invoke(options);
        options.Normalize();
        Runtime = new GatewayRuntime(Options.Create(options), NullLoggerFactory.Instance, Time);
    }

    public FakeTimeProvider Time { get; } = new();

    public GatewayRuntime Runtime { get; }

    /// <summary>A started WebSocket session whose output is a pipe (read it with <see cref="ReadFrames"/>).</summary>
    public (EngineSession Session, Pipe Output) OpenWebSocket(PipeOptions? pipeOptions = null)
    {
        var output = new Pipe(pipeOptions ?? new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        var session = new EngineSession(Runtime, webSocket: true, output.Writer, input: null);
        session.SendOpenPacket();
        session.Start();
        return (session, output);
    }

    /// <summary>
    /// A started polling session, as the HTTP handshake makes one (new, <c>Start</c>, then the open packet for the
    /// response body). Its output is what <see cref="Get"/> and the held requests receive.
    /// </summary>
    public (EngineSession Session, string OpenPacket) OpenPolling()
    {
        var session = EngineSession.ForPolling(Runtime);
        session.Start();
        var open = new ArrayBufferWriter<byte>();
        session.WriteOpenPacket(open);
        return (session, Encoding.UTF8.GetString(open.WrittenSpan));
    }

    /// <summary>A polling GET: answered at once, held (<see cref="EngineSession.PollOutcome.Parked"/>) or refused.</summary>
    public static (EngineSession.PollOutcome Outcome, RecordingPollingRequest Request) Get(EngineSession session)
    {
        var request = new RecordingPollingRequest();
        return (session.OnPollRequest(request), request);
    }

    /// <summary>
    /// A polling POST whose head and body arrive apart, as the HTTP loop drives it: <c>TryBeginDataRequest</c> on the
    /// head, <c>OnPollData</c> on the body. Records are joined with the record separator (0x1E).
    /// </summary>
    public static EngineSession.PollOutcome Post(EngineSession session, params string[] records)
    {
        var request = new RecordingPollingRequest();
        Assert.True(session.TryBeginDataRequest(request));
        return session.OnPollData(request, Encoding.UTF8.GetBytes(string.Join('\u001e', records)));
    }

    /// <summary>A polling session with a Socket.IO socket on "/" and nothing queued (the CONNECT reply was read).</summary>
    public EngineSession OpenConnectedPolling()
    {
        (EngineSession session, _) = OpenPolling();
        Assert.Equal(EngineSession.PollOutcome.Answered, Post(session, "40"));
        (EngineSession.PollOutcome outcome, RecordingPollingRequest reply) = Get(session);
        Assert.Equal(EngineSession.PollOutcome.Answered, outcome);
        Assert.StartsWith("40{\"sid\":", reply.SingleBody);
        return session;
    }

    /// <summary>Publishes a Socket.IO packet to everyone on "/" and runs one fan-out pass.</summary>
    public void Broadcast(string socketIOPacket, string id)
    {
        Runtime.Broadcaster.PublishPacket(0, -1, Encoding.UTF8.GetBytes(socketIOPacket), id);
        Runtime.FanOut.PassAll();
    }

    /// <summary>Whether the sid table still holds the session.</summary>
    public bool IsRegistered(EngineSession session) =>
        Runtime.TryGetSession(Encoding.ASCII.GetBytes(session.Sid), out EngineSession? found) && found == session;

    /// <summary>Sessions closed so far for <paramref name="reason"/>.</summary>
    public long ClosedFor(CloseReason reason) => Runtime.Metrics.SessionsClosed((int)reason);

    /// <summary>Moves the fake clock and runs what the wheel's thread would have run.</summary>
    public void Advance(int ms)
    {
        Time.Advance(TimeSpan.FromMilliseconds(ms));
        Runtime.Wheel.RunDue();
    }

    /// <summary>Every complete server frame written so far, as (opcode, text); consumes them.</summary>
    public static List<(WebSocketOpcode Opcode, string Text)> ReadFrames(Pipe output)
    {
        var frames = new List<(WebSocketOpcode, string)>();
        if (!output.Reader.TryRead(out ReadResult result))
        {
            return frames;
        }

        byte[] bytes = result.Buffer.ToArray();
        output.Reader.AdvanceTo(result.Buffer.End);
        int offset = 0;
        while (offset < bytes.Length)
        {
            // Server frames: FIN + opcode, then a 7-bit, 16-bit or 64-bit length, never masked.
            var opcode = (WebSocketOpcode)(bytes[offset] & 0x0F);
            int length = bytes[offset + 1] & 0x7F;
            int header = 2;
            if (length == 126)
            {
                length = (bytes[offset + 2] << 8) | bytes[offset + 3];
                header = 4;
            }
            else if (length == 127)
            {
                length = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(offset + 2));
                header = 10;
            }

            frames.Add((opcode, Encoding.UTF8.GetString(bytes, offset + header, length)));
            offset += header + length;
        }

        return frames;
    }

    public static void Send(EngineSession session, string text) => session.OnWebSocketMessage(WebSocketOpcode.Text, Encoding.UTF8.GetBytes(text));

    public void Dispose() => Runtime.Dispose();
}
