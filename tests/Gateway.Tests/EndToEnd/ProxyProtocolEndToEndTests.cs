using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// <c>Gateway:ProxyProtocol=true</c> behind a real HAProxy (<c>mode tcp</c>, <c>send-proxy-v2</c> / <c>send-proxy</c>):
/// the stock socket.io-client, bound to 127.0.0.7, connects through the proxy, and the gateway names 127.0.0.7 — not
/// the proxy's 127.0.0.1 — as the client of each of its connections (its Debug connection log line).
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class ProxyProtocolEndToEndTests(ProxyProtocolEndToEndTests.ProxiedGateway gateway) : IClassFixture<ProxyProtocolEndToEndTests.ProxiedGateway>
{
    /// <summary>The client's own address: any 127/8 address is local on Linux, and it differs from HAProxy's.</summary>
    private const string ClientAddress = "127.0.0.7";

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>One gateway with the option on, its connection log at Debug.</summary>
    public sealed class ProxiedGateway : IAsyncLifetime
    {
        public ServerProcess Server { get; private set; } = null!;

        public async Task InitializeAsync() =>
            Server = await ServerProcess.StartAsync(
                ServerKind.Gateway, ServerProfile.Default, ["--Gateway:ProxyProtocol=true", "--Logging:LogLevel:Gateway.Connections=Debug"]);

        public Task DisposeAsync()
        {
            Server.Dispose();
            return Task.CompletedTask;
        }
    }

    public static TheoryData<string, string, string> Routes => new()
    {
        // AWS NLB's and HAProxy's binary header; polling handshake, then the upgrade (two TCP connections).
        { "send-proxy-v2", "transport-default", "default" },
        { "send-proxy-v2", "transport-only", "websocket" },
        // The text header, on long-polling (a connection per request the client's agent opens).
        { "send-proxy", "transport-only", "polling" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task SocketIOClientThroughHaproxy_GatewaySeesTheClientsAddress(string sendProxy, string scenario, string transport)
    {
        ServerProcess server = gateway.Server;
        await server.AssertNoConnectionsAsync();
        long errorsBefore = (await server.StatsAsync()).GetProperty("protocolErrors").GetInt64();
        using HaproxyProcess haproxy = await HaproxyProcess.StartAsync(server.Port, sendProxy);
        int version = sendProxy == "send-proxy-v2" ? 2 : 1;

        ScenarioResult result = await NodeClient.RunAsync(server, scenario, transport, url: haproxy.Url, localAddress: ClientAddress);

        Assert.True(result.Ok, $"{result.Describe()}\nhaproxy output:\n{haproxy.Output}\ngateway output:\n{server.RecentOutput}");
        string line = await server.WaitForOutputAsync(
            l => l.Contains($"from {ClientAddress}:", StringComparison.Ordinal) && l.Contains($"(PROXY v{version})", StringComparison.Ordinal),
            Deadline, $"a connection from {ClientAddress} via PROXY v{version}");
        Assert.Contains("via 127.0.0.1:", line, StringComparison.Ordinal);
        await server.AssertNoConnectionsAsync();
        // Every connection HAProxy relayed (its readiness probe included) had a header the gateway took.
        Assert.Equal(errorsBefore, (await server.StatsAsync()).GetProperty("protocolErrors").GetInt64());
    }

    [Fact]
    public async Task ConnectionWithoutHeader_ClosedWithoutAnAnswer()
    {
        // Straight to the gateway, past the proxy: a plain polling handshake.
        ServerProcess server = gateway.Server;
        long errorsBefore = (await server.StatsAsync()).GetProperty("protocolErrors").GetInt64();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, server.Port);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: gw\r\n\r\n"));

        byte[] buffer = new byte[1024];
        int read;
        using (var timeout = new CancellationTokenSource(Deadline))
        {
            try
            {
                read = await stream.ReadAsync(buffer, timeout.Token);
            }
            catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
            {
                read = 0; // closed all the same
            }
        }

        Assert.True(read == 0, $"expected the connection closed without an answer, got: {Encoding.ASCII.GetString(buffer, 0, read)}");
        await server.WaitForOutputAsync(l => l.Contains("no valid PROXY header (ProxyHeaderMissing)", StringComparison.Ordinal), Deadline, "the refused connection");
        JsonElement stats = await server.StatsAsync();
        Assert.Equal(errorsBefore + 1, stats.GetProperty("protocolErrors").GetInt64());
        Assert.Equal(0, stats.GetProperty("connections").GetInt64());
    }
}
