using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Gateway.Configuration;
using Gateway.EngineIO;
using Gateway.Transport;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Transport;

/// <summary>
/// <c>Gateway:ProxyProtocol</c> in the connection handler: a real runtime on a fake clock, the connection on in-memory
/// pipes, the log captured. The request behind the header asks for an unknown transport, so the gateway answers it
/// (400 "Transport unknown") and ends the connection without opening a session.
/// </summary>
public sealed class ProxyProtocolTests
{
    private const int Timeout = 3000;

    /// <summary>The balancer, as the socket sees it.</summary>
    private static readonly IPEndPoint Balancer = new(IPAddress.Parse("10.0.0.5"), 41000);

    private const string Request = "GET /socket.io/?EIO=4&transport=bogus HTTP/1.1\r\nHost: gw\r\n\r\n";

    public static TheoryData<string, byte[], string> HeadersNamingAClient => new()
    {
        { "v1 TCP4", Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 10.0.0.9 51000 3000\r\n"), "203.0.113.7:51000" },
        { "v1 TCP6", Encoding.ASCII.GetBytes("PROXY TCP6 2001:db8::7 2001:db8::9 51000 3000\r\n"), "[2001:db8::7]:51000" },
        // An IPv4 client relayed as IPv6 counts as the IPv4 client.
        { "v1 TCP6 IPv4-mapped", Encoding.ASCII.GetBytes("PROXY TCP6 ::ffff:203.0.113.7 ::ffff:10.0.0.9 51000 3000\r\n"), "203.0.113.7:51000" },
        // send-proxy-v2 with AWS's VPC endpoint TLV after the addresses.
        {
            "v2 TCP4 with TLV",
            Convert.FromHexString("0D0A0D0A000D0A515549540A" + "2111" + "0019" + "CB007107" + "0A000009" + "C738" + "0BB8" + "EA000A" + "01767063652D61626364"),
            "203.0.113.7:51000"
        },
    };

    [Theory]
    [MemberData(nameof(HeadersNamingAClient))]
    public async Task OnConnected_HeaderNamesTheClient_ClientAddressIsTheClientAndTheRequestIsServed(string name, byte[] header, string client)
    {
        _ = name;
        using var gateway = new Harness(proxyProtocol: true);
        Connection connection = gateway.Connect();

        await connection.SendAsync([.. header, .. Encoding.ASCII.GetBytes(Request)]);
        string response = await connection.EndedAsync();

        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", response);
        Assert.EndsWith("{\"code\":0,\"message\":\"Transport unknown\"}", response);
        Assert.Equal(client, connection.Context.RemoteEndPoint?.ToString());
        Assert.Equal(IPEndPoint.Parse(client).Address, connection.Context.ClientAddress);
        int version = header[0] == (byte)'P' ? 1 : 2;
        Assert.Contains(gateway.Log, line => line == $"Debug 60 Connection c1 from {client} via {Balancer} (PROXY v{version})");
        Assert.Equal(0, gateway.Runtime.Metrics.ProtocolErrors);
    }

    public static TheoryData<string, byte[]> HeadersKeepingTheSocketPeer => new()
    {
        { "v1 UNKNOWN", Encoding.ASCII.GetBytes("PROXY UNKNOWN\r\n") },
        // A health check of the balancer itself.
        { "v2 LOCAL", Convert.FromHexString("0D0A0D0A000D0A515549540A" + "2000" + "0000") },
        { "v2 AF_UNSPEC", Convert.FromHexString("0D0A0D0A000D0A515549540A" + "2100" + "0000") },
    };

    [Theory]
    [MemberData(nameof(HeadersKeepingTheSocketPeer))]
    public async Task OnConnected_HeaderWithoutClient_ClientAddressStaysTheSocketPeer(string name, byte[] header)
    {
        _ = name;
        using var gateway = new Harness(proxyProtocol: true);
        Connection connection = gateway.Connect();

        await connection.SendAsync([.. header, .. Encoding.ASCII.GetBytes(Request)]);
        string response = await connection.EndedAsync();

        Assert.EndsWith("{\"code\":0,\"message\":\"Transport unknown\"}", response);
        Assert.Equal(Balancer, connection.Context.RemoteEndPoint);
        Assert.Equal(Balancer.Address, connection.Context.ClientAddress);
    }

    [Fact]
    public async Task OnConnected_OptionOff_ClientAddressIsTheSocketPeer()
    {
        using var gateway = new Harness(proxyProtocol: false);
        Connection connection = gateway.Connect();

        await connection.SendAsync(Encoding.ASCII.GetBytes(Request));
        string response = await connection.EndedAsync();

        Assert.EndsWith("{\"code\":0,\"message\":\"Transport unknown\"}", response);
        Assert.Equal(Balancer.Address, connection.Context.ClientAddress);
    }

    [Fact]
    public async Task OnConnected_OptionOffAndAHeaderArrives_IsABadRequest()
    {
        // §2: the receiver must not guess whether a header is there; without the option it is HTTP, and malformed.
        using var gateway = new Harness(proxyProtocol: false);
        Connection connection = gateway.Connect();

        await connection.SendAsync(Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 10.0.0.9 51000 3000\r\n" + Request));
        string response = await connection.EndedAsync();

        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", response);
        Assert.EndsWith("\r\n\r\nBad Request", response);
        Assert.Equal(Balancer.Address, connection.Context.ClientAddress);
        Assert.Equal(1, gateway.Runtime.Metrics.ProtocolErrors);
    }

    public static TheoryData<string, byte[], string> NotAHeader => new()
    {
        { "plain HTTP request", Encoding.ASCII.GetBytes(Request), "ProxyHeaderMissing" },
        { "v1 line with a bad address", Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.07 10.0.0.9 51000 3000\r\n" + Request), "InvalidProxyAddress" },
        { "v2 with version 1", Convert.FromHexString("0D0A0D0A000D0A515549540A" + "1111" + "000C"), "InvalidProxyVersion" },
    };

    [Theory]
    [MemberData(nameof(NotAHeader))]
    public async Task OnConnected_NoValidHeader_ClosedWithoutAnswerAndCounted(string name, byte[] bytes, string reason)
    {
        _ = name;
        using var gateway = new Harness(proxyProtocol: true);
        Connection connection = gateway.Connect();

        await connection.SendAsync(bytes);

        await AssertRefusedAsync(gateway, connection, reason);
    }

    /// <summary>Ended without a byte written, counted as bad input, logged with its reason.</summary>
    private static async Task AssertRefusedAsync(Harness gateway, Connection connection, string reason)
    {
        Assert.Equal("", await connection.EndedAsync());
        Assert.Equal(1, gateway.Runtime.Metrics.ProtocolErrors);
        Assert.Contains(gateway.Log, line => line == $"Debug 61 Connection c1 from {Balancer} closed: no valid PROXY header ({reason})");
    }

    [Fact]
    public async Task OnConnected_HeaderIncompleteAtTheDeadline_ClosedWithoutAnswer()
    {
        using var gateway = new Harness(proxyProtocol: true);
        Connection connection = gateway.Connect();
        await connection.SendAsync(Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 10.0"));

        gateway.Time.Advance(TimeSpan.FromMilliseconds(Timeout));

        await AssertRefusedAsync(gateway, connection, "timeout");
    }

    [Fact]
    public async Task OnConnected_NothingSentByTheDeadline_ClosedWithoutAnswer()
    {
        using var gateway = new Harness(proxyProtocol: true);
        Connection connection = gateway.Connect();

        gateway.Time.Advance(TimeSpan.FromMilliseconds(Timeout));

        await AssertRefusedAsync(gateway, connection, "timeout");
    }

    [Fact]
    public async Task OnConnected_HeaderCompletedJustBeforeTheDeadline_IsServed()
    {
        using var gateway = new Harness(proxyProtocol: true);
        Connection connection = gateway.Connect();
        await connection.SendAsync(Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 10.0"));

        gateway.Time.Advance(TimeSpan.FromMilliseconds(Timeout - 1));
        await connection.SendAsync(Encoding.ASCII.GetBytes(".0.9 51000 3000\r\n" + Request));

        Assert.EndsWith("{\"code\":0,\"message\":\"Transport unknown\"}", await connection.EndedAsync());
        Assert.Equal(IPAddress.Parse("203.0.113.7"), connection.Context.ClientAddress);
        // The deadline was for the header only: passing it now changes nothing.
        gateway.Time.Advance(TimeSpan.FromMilliseconds(Timeout));
        Assert.Equal(0, gateway.Runtime.Metrics.ProtocolErrors);
    }

    [Fact]
    public async Task OnConnected_PeerLeavesBeforeTheHeader_EndsWithoutCountingBadInput()
    {
        // A balancer's TCP health check: connect, close.
        using var gateway = new Harness(proxyProtocol: true);
        Connection connection = gateway.Connect();

        await connection.FromClient.Writer.CompleteAsync();

        Assert.Equal("", await connection.EndedAsync());
        Assert.Equal(0, gateway.Runtime.Metrics.ProtocolErrors);
    }

    [Fact]
    public async Task EndHttpConnections_WhileWaitingForTheHeader_EndsTheConnection()
    {
        using var gateway = new Harness(proxyProtocol: true);
        Connection connection = gateway.Connect();

        gateway.Handler.EndHttpConnections();

        Assert.Equal("", await connection.EndedAsync());
    }

    /// <summary>A runtime (not started: no session is opened here) and the handler, on a fake clock.</summary>
    private sealed class Harness : IDisposable
    {
        private readonly ILoggerFactory _loggers;
        private readonly ConcurrentQueue<string> _log = new();
        private int _connections;

        public Harness(bool proxyProtocol)
        {
            var options = new GatewayOptions { FanOutWorkers = 1, ProxyProtocol = proxyProtocol, ProxyProtocolTimeout = Timeout };
            options.Normalize();
            _loggers = LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Debug).AddProvider(new RecordingLoggerProvider(_log)));
            Runtime = new GatewayRuntime(Options.Create(options), _loggers, Time);
            Handler = new GatewayConnectionHandler(Runtime);
        }

        public FakeTimeProvider Time { get; } = new();

        public GatewayRuntime Runtime { get; }

        public GatewayConnectionHandler Handler { get; }

        /// <summary>Log lines as "Level EventId Message".</summary>
        public IReadOnlyCollection<string> Log => _log;

        public Connection Connect()
        {
            var fromClient = new Pipe(new PipeOptions(useSynchronizationContext: false));
            var toClient = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
            var context = new DefaultConnectionContext($"c{++_connections}", new DuplexPipe(fromClient.Reader, toClient.Writer), new DuplexPipe(toClient.Reader, fromClient.Writer))
            {
                RemoteEndPoint = Balancer,
            };
            return new Connection(context, fromClient, toClient, Handler.OnConnectedAsync(context));
        }

        public void Dispose()
        {
            Runtime.Dispose();
            _loggers.Dispose();
        }
    }

    private sealed class Connection(DefaultConnectionContext context, Pipe fromClient, Pipe toClient, Task handler)
    {
        public DefaultConnectionContext Context { get; } = context;

        public Pipe FromClient { get; } = fromClient;

        public async Task SendAsync(byte[] bytes) => await FromClient.Writer.WriteAsync(bytes);

        /// <summary>Waits (up to 30 s) for the handler to end the connection; returns everything it wrote.</summary>
        public async Task<string> EndedAsync()
        {
            await handler.WaitAsync(TimeSpan.FromSeconds(30));
            return toClient.Reader.TryRead(out ReadResult result) ? Encoding.ASCII.GetString(result.Buffer.ToArray()) : "";
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    private sealed class RecordingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new RecordingLogger(lines);

        public void Dispose()
        {
        }

        private sealed class RecordingLogger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{logLevel} {eventId.Id} {formatter(state, exception)}");
        }
    }
}
