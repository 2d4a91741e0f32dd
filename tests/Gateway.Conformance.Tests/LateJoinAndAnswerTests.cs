using System.Net;
using System.Net.Sockets;
using Gateway.Hosting;
using Microsoft.AspNetCore.Builder;

namespace Gateway.Conformance.Tests;

/// <summary>A gateway in embedded mode with late joiners turned on (they are off by default there).</summary>
public sealed class LateJoinGateway : IAsyncLifetime
{
    private WebApplication? _app;

    public int Port { get; private set; }

    public HttpClient Admin { get; } = new();

    public async Task InitializeAsync()
    {
        Port = FreePort();
        int adminPort = FreePort();
        _app = GatewayApp.Build(
        [
            $"--Gateway:Port={Port}", $"--Gateway:AdminPort={adminPort}", "--Gateway:BindAddress=127.0.0.1",
            "--Gateway:LateJoin:MaxAge=60000", "--Logging:LogLevel:Default=Warning",
        ]);
        await _app.StartAsync();
        Admin.BaseAddress = new Uri($"http://127.0.0.1:{adminPort}");
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        Admin.Dispose();
    }

    public async Task PublishAsync(string json)
    {
        using HttpResponseMessage response = await Admin.PostAsync("/v1/publish", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public sealed class LateJoinAndAnswerTests(LateJoinGateway server) : IClassFixture<LateJoinGateway>
{
    private async Task<RawClient> JoinAsync(string auth)
    {
        (RawClient client, _) = await RawClient.OpenWebSocketAsync(server.Port);
        await client.SendTextAsync("40" + auth);
        Assert.StartsWith("40{\"sid\"", (await client.ReadNonPingFrameAsync()).Text);
        return client;
    }

    [Fact]
    public async Task LateJoiner_GetsTheCurrentPromptOfItsChannels_Once()
    {
        await server.PublishAsync("{\"channel\":\"lj-a\",\"data\":[{\"q\":\"a1\"}]}");
        await server.PublishAsync("{\"channel\":\"lj-a\",\"data\":[{\"q\":\"a2\"}]}");
        await server.PublishAsync("{\"channel\":\"lj-b\",\"data\":[{\"q\":\"b1\"}]}");

        // Joining lj-a through the handshake: its current prompt (the last one) right after the CONNECT reply.
        using RawClient joiner = await JoinAsync("{\"channels\":[\"lj-a\"]}");
        Assert.Equal("42[\"prompt\",{\"q\":\"a2\"}]", (await joiner.ReadNonPingFrameAsync()).Text);

        // Subscribing to lj-b later: the ack, then lj-b's current prompt; subscribing again adds nothing.
        await joiner.SendTextAsync("421[\"subscribe\",\"lj-b\"]");
        Assert.Equal("431[{\"ok\":true,\"channels\":[\"lj-a\",\"lj-b\"]}]", (await joiner.ReadNonPingFrameAsync()).Text);
        Assert.Equal("42[\"prompt\",{\"q\":\"b1\"}]", (await joiner.ReadNonPingFrameAsync()).Text);
        await joiner.SendTextAsync("422[\"subscribe\",\"lj-b\"]");
        Assert.Equal("432[{\"ok\":true,\"channels\":[\"lj-a\",\"lj-b\"]}]", (await joiner.ReadNonPingFrameAsync()).Text);

        // The next prompt arrives once, through the ring.
        await server.PublishAsync("{\"channel\":\"lj-a\",\"data\":[{\"q\":\"a3\"}]}");
        Assert.Equal("42[\"prompt\",{\"q\":\"a3\"}]", (await joiner.ReadNonPingFrameAsync()).Text);
        await joiner.SendTextAsync("423[\"time\"]");
        Assert.StartsWith("433[{\"now\":", (await joiner.ReadNonPingFrameAsync()).Text);
    }

    [Fact]
    public async Task Answer_InEmbeddedMode_IsRefusedWithTheReason()
    {
        using RawClient client = await JoinAsync("");
        await client.SendTextAsync("421[\"answer\",{\"promptId\":\"p1\",\"choice\":2}]");
        Assert.Equal("431[{\"ok\":false,\"error\":\"unavailable\"}]", (await client.ReadNonPingFrameAsync()).Text);
    }

    [Theory]
    [InlineData("[\"answer\",{\"choice\":2}]", "invalid answer: promptId is required")]
    [InlineData("[\"answer\",\"p1\"]", "invalid answer: the argument must be an object with promptId")]
    [InlineData("[\"answer\",{\"promptId\":\"p1\"},2]", "invalid answer: one argument expected")]
    [InlineData("[\"answer\"]", "invalid answer: the argument must be an object with promptId")]
    public async Task Answer_Invalid_IsRefusedWithTheReason(string payload, string error)
    {
        using RawClient client = await JoinAsync("");
        await client.SendTextAsync("427" + payload);
        Assert.Equal($"437[{{\"ok\":false,\"error\":\"{error}\"}}]", (await client.ReadNonPingFrameAsync()).Text);
    }
}
