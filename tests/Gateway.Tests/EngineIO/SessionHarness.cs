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
