using System.Diagnostics;
using Gateway.Tests.Redis;
using StackExchange.Redis;

namespace Gateway.LoadGen.Tests;

/// <summary>The loadgen against our gateway: embedded mode, and Redis mode (prompts, answers, recovery).</summary>
[Trait("Category", "EndToEnd")]
[Collection(LoadGenEndToEnd.Name)]
public class GatewayEndToEndTests
{
    private static string TempReport(string name) => Path.Combine(Path.GetTempPath(), $"loadgen-{name}-{Guid.NewGuid():N}.json");

    private static async Task<Report> ReadReportAsync(string path)
    {
        Report r = Report.FromJson(await File.ReadAllTextAsync(path));
        File.Delete(path);
        return r;
    }

    [Fact]
    public async Task ThousandClientsUpgradeAndGetEveryBroadcastExactlyOnce()
    {
        await using GatewayServer gateway = await GatewayServer.StartAsync();
        string report = TempReport("gw-broadcast");
        int rc = await Program.Main(
        [
            "broadcast", "--url", gateway.Url, "--publish-url", gateway.PublishUrl, "--connections", "1000", "--rate", "500",
            "--prompts", "5", "--interval", "300ms", "--grace", "10s", "--ready-timeout", "30s", "--quiet", "--report", report,
            "--slo", "missing=0",
        ]);
        Report r = await ReadReportAsync(report);
        Assert.Equal(0, rc);
        Assert.Empty(r.Errors);
        Assert.Equal(1000, r.OnWebSocket); // polling handshake, then the upgrade
        Assert.Equal(0, r.UpgradeFailures);
        Assert.All(r.Prompts, p => Assert.Equal((1000L, 0L, 0L), (p.Received, p.Duplicates, p.OutOfOrder)));
    }

    [Fact]
    public async Task MoreSocketsThanOneProcessMayOpen_SplitIntoWorkers()
    {
        await using GatewayServer gateway = await GatewayServer.StartAsync();
        string report = TempReport("gw-split");
        // Under a 1,000-file limit one process cannot hold 1,500 sockets (it would die out of descriptors): loadgen
        // runs worker processes by itself.
        string exe = Path.Combine(AppContext.BaseDirectory, "loadgen.dll");
        var psi = new ProcessStartInfo("prlimit") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])["--nofile=1000:1000", "dotnet", exe, "connect", "--url", gateway.Url, "--connections", "1500", "--rate", "3000",
            "--transport", "websocket", "--duration", "1s", "--report", report, "--quiet"])
        {
            psi.ArgumentList.Add(arg);
        }

        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), "loadgen did not finish");
        Assert.True(p.ExitCode == 0, await stderr + await stdout);
        Assert.Contains("worker processes", await stderr);
        Report r = await ReadReportAsync(report);
        Assert.True(r.Processes >= 2, $"{r.Processes} process(es)");
        Assert.Equal(1500, r.PeakConnected);
        Assert.Empty(r.Errors);
    }

    [Fact]
    public async Task RedisMode_PromptsThroughTheStream_AnswersReachTheAnswersStream()
    {
        using RedisServer redis = await RedisServer.StartAsync();
        await using GatewayServer gateway = await GatewayServer.StartAsync($"--Gateway:Redis:Configuration={redis.Configuration}");
        string report = TempReport("gw-answers");
        int rc = await Program.Main(
        [
            "answers", "--url", gateway.Url, "--redis", $"127.0.0.1:{redis.Port}", "--connections", "200", "--rate", "400",
            "--transport", "websocket", "--prompts", "2", "--interval", "300ms", "--think", "0ms-200ms", "--quiet", "--report", report,
        ]);
        Report r = await ReadReportAsync(report);
        Assert.Equal(0, rc);
        Assert.Empty(r.Errors);
        Assert.All(r.Prompts, p => Assert.Equal((200L, 0L, 0L), (p.Received, p.Duplicates, p.OutOfOrder)));
        Assert.Equal((400L, 400L), (r.Answers!.Sent, r.Answers.Acked));
        using ConnectionMultiplexer client = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        Assert.Equal(400, await client.GetDatabase().StreamLengthAsync("gateway:answers")); // acked = stored
    }

    [Fact]
    public async Task RedisMode_StormByAdminDisconnect_PromptsOfTheStormReachEveryoneOnce()
    {
        using RedisServer redis = await RedisServer.StartAsync();
        await using GatewayServer gateway = await GatewayServer.StartAsync($"--Gateway:Redis:Configuration={redis.Configuration}");
        string report = TempReport("gw-storm-disconnect");
        // Every socket dropped by the gateway itself (a recoverable transport close); three prompts from the drop on,
        // owed to all 200: each gets each once, live or replayed by its recovery. The POST in plain bash (no curl needed).
        string disconnect = $"exec 3<>/dev/tcp/127.0.0.1/{gateway.AdminPort} && printf 'POST /v1/disconnect HTTP/1.1\\r\\nHost: 127.0.0.1:{gateway.AdminPort}\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n' >&3 && grep -q '\"closed\"' <&3";
        int rc = await Program.Main(
        [
            "storm", "--url", gateway.Url, "--redis", $"127.0.0.1:{redis.Port}", "--connections", "200", "--rate", "400",
            "--transport", "websocket", "--duration", "1s", "--restart-command", disconnect,
            "--storm-prompts", "3", "--interval", "300ms", "--grace", "30s", "--quiet", "--report", report,
        ]);
        Report r = await ReadReportAsync(report);
        Assert.Equal(0, rc);
        Assert.NotNull(r.Storm);
        Assert.DoesNotContain("restart-command-failed", r.Errors.Keys);
        Assert.Equal(200, r.Storm.Dropped);
        Assert.True(r.Storm.SecondsTo99Percent > 0, "everyone came back");
        Assert.True(r.Recovered >= 200, $"{r.Recovered} recovered");
        Assert.Equal(4, r.Prompts.Count);
        Assert.All(r.Prompts, p => Assert.Equal((200L, 200L, 0L), (p.Expected, p.Received, p.Duplicates)));
    }

    [Fact]
    public async Task RedisMode_StormByRestartingTheGateway_EveryoneComesBackRecovered()
    {
        using RedisServer redis = await RedisServer.StartAsync();
        await using GatewayServer gateway = await GatewayServer.StartAsync($"--Gateway:Redis:Configuration={redis.Configuration}");
        string pidFile = Path.Combine(Path.GetTempPath(), $"loadgen-gw-{Guid.NewGuid():N}.pid");
        string report = TempReport("gw-storm");
        // SIGTERM (a rolling restart: the gateway records its sockets' sessions on the way out), then start it again.
        string restart = $"kill -TERM {gateway.Pid} && while kill -0 {gateway.Pid} 2>/dev/null; do sleep 0.05; done && {gateway.StartCommand(pidFile)}";
        try
        {
            int rc = await Program.Main(
            [
                "storm", "--url", gateway.Url, "--redis", $"127.0.0.1:{redis.Port}", "--connections", "100", "--rate", "400",
                "--transport", "websocket", "--duration", "1s", "--restart-command", restart, "--quiet", "--report", report,
            ]);
            Report r = await ReadReportAsync(report);
            Assert.Equal(0, rc);
            Assert.NotNull(r.Storm);
            Assert.True(r.Storm.SecondsTo99Percent > 0, "everyone came back");
            // Everyone comes back recovered, also when the restarted gateway's first round is slow (a loaded machine):
            // a recovery asked for then waits for that round instead of being answered fresh.
            Assert.Equal(100, r.Recovered);
        }
        finally
        {
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid))
            {
                try
                {
                    using Process restarted = Process.GetProcessById(pid);
                    restarted.Kill();
                    restarted.WaitForExit(5000);
                }
                catch (ArgumentException)
                {
                }

                File.Delete(pidFile);
            }
        }
    }
}

/// <summary>The loadgen's end-to-end classes run one after the other: each drives real servers on the same 2 cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadGenEndToEnd
{
    public const string Name = "loadgen end-to-end";
}
