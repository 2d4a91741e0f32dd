using System.Net;
using System.Text.Json;
using Gateway.Tests.EndToEnd;

namespace Gateway.Tests.Ami;

/// <summary>
/// ami/install.sh into a staging root, then the installed gateway started with the unit's own command line and the
/// installed configuration: readiness through NOTIFY_SOCKET, the health port, a stock socket.io-client, SIGTERM, and
/// the exit code of a configuration error that the unit must not restart.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class AmiInstallTests
{
    [Fact]
    public async Task Install_StagingRoot_LaysOutTheImage()
    {
        using Installation installation = await Installation.CreateAsync();

        foreach (string path in new[]
        {
            "/opt/gateway/Gateway", "/opt/gateway/Gateway.dll", "/opt/gateway/Gateway.runtimeconfig.json", "/etc/gateway/appsettings.json",
            "/etc/gateway/gateway.env.example", "/etc/gateway/logs.env.example", "/etc/systemd/system/gateway.service",
            "/etc/sysctl.d/90-gateway.conf", "/etc/fluent-bit/gateway/pipeline.conf", "/etc/fluent-bit/gateway/parsers.conf",
            "/etc/fluent-bit/gateway/main-s3.conf", "/etc/systemd/system/fluent-bit.service.d/gateway.conf",
        })
        {
            Assert.True(File.Exists(installation.PathOf(path)), $"{path} not installed. install.sh said:\n{installation.Output}");
        }

        // The gateway reads appsettings.json beside its binary: a link to /etc/gateway's, relative so it holds under any root.
        var link = new FileInfo(installation.PathOf("/opt/gateway/appsettings.json"));
        Assert.Equal("../../etc/gateway/appsettings.json", link.LinkTarget);
        Assert.Equal(File.ReadAllText(Path.Combine(Installation.AmiDir, "config", "appsettings.json")), File.ReadAllText(link.FullName));

        // A system user without a login, owning nothing but the configuration's group.
        string passwd = File.ReadAllText(installation.PathOf("/etc/passwd"));
        Assert.Matches(@"(?m)^gateway:x:\d+:\d+::/opt/gateway:/usr/sbin/nologin$", passwd);

        // Enabled (multi-user.target wants it); it starts once the user data has written gateway.env.
        Assert.Equal("/etc/systemd/system/gateway.service", new FileInfo(installation.PathOf("/etc/systemd/system/multi-user.target.wants/gateway.service")).LinkTarget);
        Assert.Equal("/etc/gateway/gateway.env", installation.Unit.Get("Unit.ConditionPathExists"));

        // The GC and JIT settings on the image are the csproj's, the ones the capacity figures were measured with.
        using JsonDocument runtimeConfig = JsonDocument.Parse(File.ReadAllText(installation.PathOf("/opt/gateway/Gateway.runtimeconfig.json")));
        JsonElement properties = runtimeConfig.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.True(properties.GetProperty("System.GC.Server").GetBoolean());
        Assert.False(properties.GetProperty("System.Runtime.TieredPGO").GetBoolean());

        // Installing again (a re-bake) replaces the application whole: no file of the older publish stays.
        File.WriteAllText(installation.PathOf("/opt/gateway/stale.dll"), "old");
        CommandResult again = await CommandLine.RunAsync("bash", [Path.Combine(Installation.AmiDir, "install.sh"), "--root", installation.Root, "--from", Path.GetDirectoryName(TestPaths.GatewayDll)!]);
        Assert.True(again.ExitCode == 0, again.Describe());
        Assert.False(File.Exists(installation.PathOf("/opt/gateway/stale.dll")));
        Assert.Single(File.ReadAllLines(installation.PathOf("/etc/passwd")), l => l.StartsWith("gateway:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InstalledUnit_StartedAsSystemdStartsIt_NotifiesReadyServesHealthAndClientsAndStopsOnSigterm()
    {
        using Installation installation = await Installation.CreateAsync();
        installation.WriteEnvironmentFile();
        await using InstalledGateway gateway = InstalledGateway.Start(installation);

        Assert.Equal("READY=1", await gateway.ReceiveNotificationAsync());
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        // READY=1 means serving: the balancer's check answers at once, no retry.
        using (HttpResponseMessage ready = await http.GetAsync(gateway.HealthUrl + "/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("""{"status":"ready"}""", await ready.Content.ReadAsStringAsync());
        }

        using (HttpResponseMessage health = await http.GetAsync(gateway.HealthUrl + "/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        // The health port serves nothing else, whatever Host the request names (the admin API stays on loopback).
        foreach (string path in new[] { "/v1/stats", "/metrics", "/", "/socket.io/?EIO=4&transport=polling" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, gateway.HealthUrl + path);
            request.Headers.Host = $"127.0.0.1:{gateway.AdminPort}";
            using HttpResponseMessage response = await http.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"GET {path} on the health port: {(int)response.StatusCode}");
        }

        using (var publish = new StringContent("""{"data":[1]}""", System.Text.Encoding.UTF8, "application/json"))
        using (HttpResponseMessage response = await http.PostAsync(gateway.HealthUrl + "/v1/publish", publish))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using (HttpResponseMessage stats = await http.GetAsync(gateway.AdminUrl + "/v1/stats"))
        {
            Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
        }

        // A stock socket.io-client 4.8 on the public port: polling handshake, upgrade, an ack, a push.
        ScenarioResult client = await NodeClient.RunAsync(gateway.Url, gateway.AdminUrl, "transport-default", "default");
        Assert.True(client.Ok, client.Describe() + "\ngateway:\n" + gateway.RecentOutput);

        // systemctl stop: SIGTERM; the gateway says it is stopping and exits 0 (not a failure, no restart).
        await gateway.TerminateAsync();
        Assert.Equal("STOPPING=1", await gateway.ReceiveNotificationAsync());
        Assert.Equal(0, await gateway.WaitForExitAsync());
    }

    [Fact]
    public async Task InstalledUnit_InvalidValueInTheEnvironmentFile_ExitsWithTheStatusTheUnitDoesNotRestart()
    {
        using Installation installation = await Installation.CreateAsync();
        installation.WriteEnvironmentFile("Gateway__PingInterval=0");
        await using InstalledGateway gateway = InstalledGateway.Start(installation);

        int exitCode = await gateway.WaitForExitAsync();

        Assert.Equal(int.Parse(installation.Unit.Get("Service.RestartPreventExitStatus")!, System.Globalization.CultureInfo.InvariantCulture), exitCode);
        Assert.Equal(2, exitCode);
        Assert.Contains("Gateway:PingInterval", gateway.RecentOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InstalledUnit_ConfigurationFileNotJson_ExitsWithTheStatusTheUnitDoesNotRestart()
    {
        using Installation installation = await Installation.CreateAsync();
        installation.WriteEnvironmentFile();
        File.WriteAllText(installation.PathOf("/etc/gateway/appsettings.json"), """{ "Gateway": { "Port": 3000, """);
        await using InstalledGateway gateway = InstalledGateway.Start(installation);

        Assert.Equal(2, await gateway.WaitForExitAsync());
        Assert.Contains("appsettings.json", gateway.RecentOutput, StringComparison.Ordinal);
    }
}
