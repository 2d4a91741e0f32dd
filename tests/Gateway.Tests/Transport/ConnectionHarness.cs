using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Gateway.Configuration;
using Gateway.Tests.EngineIO;
using Gateway.Transport;
using Microsoft.AspNetCore.Connections;

namespace Gateway.Tests.Transport;

/// <summary>
/// The public port's connection handler on a <see cref="SessionHarness"/> runtime (fake clock, no threads): each
/// connection is a pair of in-memory pipes, run by the real handler as the listener runs it. Tests write request
/// bytes, advance the clock, run the timing wheel, and read what the gateway answered.
/// </summary>
internal sealed class ConnectionHarness : IDisposable
{
    public ConnectionHarness(Action<GatewayOptions>? configure = null, int maxConnections = int.MaxValue)
    {
        Sessions = new SessionHarness(configure);
        Runtime.Admission.SetMaxConnections(maxConnections, int.MaxValue);
        Handler = new GatewayConnectionHandler(Runtime);
    }

    public SessionHarness Sessions { get; }

    public Gateway.EngineIO.GatewayRuntime Runtime => Sessions.Runtime;

    public GatewayConnectionHandler Handler { get; }

    /// <summary>Accepts a connection as the listener does: admitted and run, or refused at the cap.</summary>
    public TestConnection Connect(string remoteAddress = "127.0.0.1")
    {
        var input = new Pipe(new PipeOptions(useSynchronizationContext: false, pauseWriterThreshold: 0));
        var output = new Pipe(new PipeOptions(useSynchronizationContext: false, pauseWriterThreshold: 0));
        var context = new DefaultConnectionContext(Guid.NewGuid().ToString("N"), new DuplexPipe(input.Reader, output.Writer), new DuplexPipe(output.Reader, input.Writer))
        {
            RemoteEndPoint = new IPEndPoint(IPAddress.Parse(remoteAddress), 40000),
        };
        Task run = Handler.OnConnectedAsync(context);
        return new TestConnection(input.Writer, output.Reader, run);
    }

    /// <summary>Moves the fake clock and runs every deadline that is due, as the wheel's thread would.</summary>
    public void Advance(int milliseconds)
    {
        Sessions.Time.Advance(TimeSpan.FromMilliseconds(milliseconds));
        Runtime.Wheel.RunDue();
    }

    public void Dispose()
    {
        Sessions.Dispose();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}

/// <summary>The client's side of one in-memory connection.</summary>
internal sealed class TestConnection(PipeWriter toGateway, PipeReader fromGateway, Task run)
{
    private readonly StringBuilder _received = new();

    /// <summary>The handler's run of this connection: complete once the gateway ended it.</summary>
    public Task Run { get; } = run;

    public bool Ended => Run.IsCompleted;

    public async Task SendAsync(string ascii) => await toGateway.WriteAsync(Encoding.ASCII.GetBytes(ascii));

    public async Task SendAsync(byte[] bytes) => await toGateway.WriteAsync(bytes);

    /// <summary>The client closes its side (the gateway's read sees the end).</summary>
    public void Close() => toGateway.Complete();

    /// <summary>Everything the gateway wrote so far (reads without waiting).</summary>
    public string Received
    {
        get
        {
            while (fromGateway.TryRead(out ReadResult result))
            {
                _received.Append(Encoding.ASCII.GetString(result.Buffer.ToArray()));
                fromGateway.AdvanceTo(result.Buffer.End);
                if (result.Buffer.IsEmpty)
                {
                    break;
                }
            }

            return _received.ToString();
        }
    }

    /// <summary>Waits (up to 30 s) until what the gateway wrote satisfies <paramref name="condition"/>.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> condition, string what)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition(Received))
        {
            Assert.False(deadline.IsCancellationRequested, $"{what}: not seen within 30 s; received: {Received}");
            await Task.Delay(5);
        }

        return Received;
    }

    /// <summary>Waits (up to 30 s) for the gateway to end the connection.</summary>
    public async Task WaitEndedAsync(string what)
    {
        Task done = await Task.WhenAny(Run, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(done == Run, $"{what}: the connection was not ended within 30 s; received: {Received}");
        await Run;
    }
}
