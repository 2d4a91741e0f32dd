using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Gateway.Hosting;
using Microsoft.AspNetCore.Builder;

namespace Gateway.Conformance.Tests;

/// <summary>
/// A real gateway, in this process, on free loopback ports, with short timings and small limits so that every
/// limit can be hit quickly. Shared by the tests of one collection (they run one after another).
/// </summary>
public sealed class GatewayServer : IAsyncLifetime
{
    public const int PingInterval = 600;
    public const int PingTimeout = 400;
    public const int MaxPayload = 20_000;
    public const int RingCapacity = 16;

    private WebApplication? _app;

    public int Port { get; private set; }

    public int AdminPort { get; private set; }

    public HttpClient Admin { get; } = new();

    public async Task InitializeAsync()
    {
        Port = FreePort();
        AdminPort = FreePort();
        _app = GatewayApp.Build(
        [
            $"--Gateway:Port={Port}", $"--Gateway:AdminPort={AdminPort}", "--Gateway:BindAddress=127.0.0.1",
            "--Gateway:Diagnostics:Echo=true", "--Gateway:Namespaces:0=/", "--Gateway:Namespaces:1=/custom",
            $"--Gateway:PingInterval={PingInterval}", $"--Gateway:PingTimeout={PingTimeout}", "--Gateway:ConnectTimeout=3000",
            $"--Gateway:MaxPayload={MaxPayload}", $"--Gateway:RingCapacity={RingCapacity}", "--Gateway:MaxOutboundBytes=65536",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await _app.StartAsync();
        Admin.BaseAddress = new Uri($"http://127.0.0.1:{AdminPort}");
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

    public async Task<JsonElement> StatsAsync()
    {
        string json = await Admin.GetStringAsync("/v1/stats");
        return JsonDocument.Parse(json).RootElement;
    }

    /// <summary>The open connection count must come back to zero once clients are gone.</summary>
    public async Task AssertNoConnectionsAsync()
    {
        long connections = -1;
        for (int i = 0; i < 100; i++)
        {
            connections = (await StatsAsync()).GetProperty("connections").GetInt64();
            if (connections == 0)
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"{connections} connections still open");
    }

    public Task<HttpResponseMessage> PublishAsync(string json) =>
        Admin.PostAsync("/v1/publish", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayServer>
{
    public const string Name = "gateway";
}
