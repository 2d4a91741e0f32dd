using System.Net;
using Gateway.Tests.EndToEnd;

namespace Gateway.Tests.Admin;

/// <summary>
/// <c>Gateway:HealthPort</c>: health and readiness for a load balancer on the public address, with the same answers as
/// the admin port, and nothing else (the admin API stays on loopback).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class HealthPortTests
{
    [Fact]
    public async Task HealthPort_RedisAway_ReadinessSaysNotReadyLikeTheAdminPort()
    {
        int healthPort = ServerProcess.FreePort();
        // Nothing listens on 127.0.0.1:1: the gateway runs, sockets would be kept, but it is not ready.
        using ServerProcess server = await ServerProcess.StartAsync(
            ServerKind.Gateway, ServerProfile.Default, [$"--Gateway:HealthPort={healthPort}", "--Gateway:Redis:Configuration=127.0.0.1:1"], readyPath: "/healthz");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        using HttpResponseMessage health = await http.GetAsync($"http://127.0.0.1:{healthPort}/healthz");
        using HttpResponseMessage ready = await http.GetAsync($"http://127.0.0.1:{healthPort}/readyz");
        using HttpResponseMessage adminReady = await server.Admin.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, adminReady.StatusCode);
        Assert.Contains("\"reason\":\"redis", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
