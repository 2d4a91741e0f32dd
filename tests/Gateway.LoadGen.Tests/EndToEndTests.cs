using System.Diagnostics;
using System.Text;

namespace Gateway.LoadGen.Tests;

[Trait("Category", "EndToEnd")]
[Collection(LoadGenEndToEnd.Name)]
public class EndToEndTests
{
    /// <summary>How long a test waits for something that must happen: generous, for a loaded machine.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static async Task<bool> WaitUntil(Func<bool> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(20);
        }

        return condition();
    }

    [Fact]
    public async Task ThousandClientsUpgradeAndGetEveryBroadcastExactlyOnce()
    {
        await using ReferenceServer server = await ReferenceServer.StartAsync();
        string report = Path.Combine(Path.GetTempPath(), $"loadgen-e2e-{Guid.NewGuid():N}.json");
        string html = Path.ChangeExtension(report, ".html");
        int rc = await Program.Main(
        [
            "broadcast", "--url", server.Url, "--publish-url", server.PublishUrl, "--connections", "1000", "--rate", "500",
            "--prompts", "5", "--interval", "300ms", "--grace", "10s", "--ready-timeout", "30s", "--quiet",
            "--report", report, "--html", html, "--slo", "missing=0",
        ]);
        Report r = Report.FromJson(await File.ReadAllTextAsync(report));
        File.Delete(report);
        Assert.True(File.Exists(html));
        File.Delete(html);
        Assert.Equal(0, rc);
        Assert.Empty(r.Errors);
        Assert.Equal(1000, r.PeakConnected);
        Assert.Equal(1000, r.OnWebSocket); // every client went polling -> websocket
        Assert.Equal(0, r.UpgradeFailures);
        Assert.Equal(1000, r.TimeAckRtt.Count);
        Assert.Equal(5, r.Prompts.Count);
        foreach (PromptReport p in r.Prompts)
        {
            Assert.Equal(1000, p.Expected);
            Assert.Equal(1000, p.Received);
            Assert.Equal(0, p.Duplicates);
            Assert.Equal(0, p.OutOfOrder);
            Assert.Equal(1000, p.Latency.Count);
        }
    }

    /// <summary>
    /// reference-server.mjs --redis-adapter (bench/vs-socketio-cluster's socket.io cluster): a publish on one node's
    /// admin port reaches the sockets of the other node too, through @socket.io/redis-adapter and a real
    /// redis-server, exactly once each.
    /// </summary>
    [Fact]
    [Trait("Category", "Redis")]
    public async Task ReferenceNodesWithTheRedisAdapterCarryAPublishToEveryNodesSockets()
    {
        using Gateway.Tests.Redis.RedisServer redis = await Gateway.Tests.Redis.RedisServer.StartAsync();
        string adapter = $"redis://127.0.0.1:{redis.Port}";
        await using ReferenceServer publishing = await ReferenceServer.StartAsync("--redis-adapter", adapter);
        await using ReferenceServer other = await ReferenceServer.StartAsync("--redis-adapter", adapter);
        const int PerNode = 20;
        LocalRun Clients(ReferenceServer node, int first) =>
            new(Options.Parse(["broadcast", "--url", node.Url, "--connections", $"{PerNode}", "--rate", "500", "--prompts", "2"]), first, PerNode);
        LocalRun local = Clients(publishing, 0), remote = Clients(other, PerNode);
        local.Start();
        remote.Start();
        Assert.True(await WaitUntil(() => local.Metrics.OnWebSocket == PerNode && remote.Metrics.OnWebSocket == PerNode, Deadline), "connected");

        using var http = new HttpClient();
        async Task Publish(int k)
        {
            string body = $$"""{"event":"prompt","data":[{"id":"p-{{k}}","sentAt":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},"payload":"x"}]}""";
            using HttpResponseMessage response = await http.PostAsync(publishing.PublishUrl, new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.True(response.IsSuccessStatusCode);
        }

        await Publish(1);
        Assert.True(await WaitUntil(() => local.Metrics.Prompts[0].Received == PerNode && remote.Metrics.Prompts[0].Received == PerNode, Deadline),
            $"p-1: {local.Metrics.Prompts[0].Received} local, {remote.Metrics.Prompts[0].Received} on the other node");
        // Sentinel: a second copy of p-1 (say, the adapter echoing it back to its publisher) would come before p-2.
        await Publish(2);
        Assert.True(await WaitUntil(() => local.Metrics.Prompts[1].Received == PerNode && remote.Metrics.Prompts[1].Received == PerNode, Deadline), "p-2");
        foreach (Report r in (Report[])[await local.StopAsync(), await remote.StopAsync()])
        {
            Assert.All(r.Prompts, p => Assert.Equal((PerNode, 0L, 0L), (p.Received, p.Duplicates, p.OutOfOrder)));
        }
    }

    [Fact]
    public async Task ClientsReconnectWithBackoffAfterTheServerRestarts()
    {
        await using ReferenceServer server = await ReferenceServer.StartAsync();
        Options o = Options.Parse(["broadcast", "--url", server.Url, "--connections", "50", "--rate", "500", "--prompts", "1"]);
        var run = new LocalRun(o, 0, 50);
        run.Start();
        Assert.True(await WaitUntil(() => run.Metrics.Connected == 50 && run.Metrics.OnWebSocket == 50, Deadline), "first connect");

        await server.StopAsync();
        Assert.True(await WaitUntil(() => run.Metrics.Connected == 0, Deadline), "drop seen");
        // Down until a client has come out of its backoff and tried again (against the stopped server), not for a
        // fixed 500 ms: the restart then meets clients that are retrying with backoff.
        Assert.True(await WaitUntil(() => run.Metrics.Reconnects >= 1, Deadline), "no reconnect attempt while the server was down");
        await server.StartAgainAsync();

        // Backoff: 1 s ± 50 %, then 2 s ± 50 %, ...: everyone is back within a few seconds.
        Assert.True(await WaitUntil(() => run.Metrics.Connected == 50 && run.Metrics.OnWebSocket == 50, Deadline), "reconnected: " + run.Metrics.Connected);
        Assert.True(run.Metrics.Reconnects >= 50);

        // The new sessions are real: a broadcast reaches all of them.
        using var http = new HttpClient();
        string body = $$"""{"namespace":"/","channel":null,"event":"prompt","data":[{"id":"p-1","sentAt":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},"payload":"x"}]}""";
        using HttpResponseMessage response = await http.PostAsync(server.PublishUrl, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode);
        Assert.True(await WaitUntil(() => run.Metrics.Prompts[0].Received == 50, Deadline), "broadcast after reconnect");
        Report r = await run.StopAsync();
        Assert.Equal(50, r.Prompts[0].Received);
        Assert.Equal(0, r.Prompts[0].Duplicates);
    }

    [Fact]
    public async Task MissingPongsMakeTheServerDropAndClientsComeBack()
    {
        await using ReferenceServer server = await ReferenceServer.StartAsync("--ping-interval", "300", "--ping-timeout", "300");
        Options o = Options.Parse(["connect", "--url", server.Url, "--connections", "5", "--transport", "websocket", "--no-pong"]);
        var run = new LocalRun(o, 0, 5);
        run.Start();
        Assert.True(await WaitUntil(() => run.Metrics.Reconnects >= 5, Deadline), "reconnects " + run.Metrics.Reconnects);
        Report r = await run.StopAsync();
        // The server drops each session pingTimeout after its unanswered ping; the client, having no ping since, times
        // out pingInterval + pingTimeout after it. Which one a client records first ("closed" or "ping-timeout") is
        // a race between the two processes' timers on a busy machine: either is the drop. A client that answered
        // pings would see neither (the server keeps pinging, and each ping resets the client's timer).
        long dropped = r.Errors.GetValueOrDefault("closed") + r.Errors.GetValueOrDefault("ping-timeout");
        Assert.True(dropped >= 5, string.Join(",", r.Errors));
    }

    [Fact]
    public async Task PollingShareStaysOnPollingAndStillAnswersPings()
    {
        await using ReferenceServer server = await ReferenceServer.StartAsync("--ping-interval", "300", "--ping-timeout", "1000");
        Options o = Options.Parse(["connect", "--url", server.Url, "--connections", "10", "--polling-share", "0.5"]);
        var run = new LocalRun(o, 0, 10);
        run.Start();
        Assert.True(await WaitUntil(() => run.Metrics.Connected == 10 && run.Metrics.OnPolling == 5, Deadline), "connected");
        // Several heartbeats (30 pongs, 3 per client on average), waited for rather than assumed to fit in 2 s.
        Assert.True(await WaitUntil(() => run.Metrics.PongsSent >= 30, Deadline), "pongs " + run.Metrics.PongsSent);
        Assert.Equal(10, run.Metrics.Connected);
        Report r = await run.StopAsync();
        Assert.Equal(0, r.Reconnects);
        Assert.Empty(r.Errors);
    }

    [Fact]
    public async Task AnswersWithBinaryAttachmentsAreAckedOnBothTransports()
    {
        await using ReferenceServer server = await ReferenceServer.StartAsync("--echo");
        string report = Path.Combine(Path.GetTempPath(), $"loadgen-answers-{Guid.NewGuid():N}.json");
        int rc = await Program.Main(
        [
            "answers", "--url", server.Url, "--publish-url", server.PublishUrl, "--connections", "40", "--rate", "400",
            "--prompts", "2", "--interval", "300ms", "--think", "50ms-300ms", "--answer-event", "ack", "--binary-bytes", "32",
            "--polling-share", "0.5", "--quiet", "--report", report,
        ]);
        Report r = Report.FromJson(await File.ReadAllTextAsync(report));
        File.Delete(report);
        Assert.Equal(0, rc);
        Assert.Empty(r.Errors);
        Assert.Equal((20, 20), (r.OnWebSocket, r.OnPolling));
        Assert.NotNull(r.Answers);
        Assert.Equal(80, r.Answers.Sent);
        Assert.Equal(80, r.Answers.Acked);
        Assert.Equal(80, r.Answers.AckLatency.Count);
    }

    [Fact]
    public async Task CapacityStepsUpUntilTheSloBreaks()
    {
        await using ReferenceServer server = await ReferenceServer.StartAsync();
        string report = Path.Combine(Path.GetTempPath(), $"loadgen-capacity-{Guid.NewGuid():N}.json");
        int rc = await Program.Main(
        [
            "capacity", "--url", server.Url, "--publish-url", server.PublishUrl, "--levels", "20,40", "--rate", "400",
            "--transport", "websocket", "--prompts", "1", "--slo", "p99=10s,missing=0", "--quiet", "--report", report,
        ]);
        Report r = Report.FromJson(await File.ReadAllTextAsync(report));
        File.Delete(report);
        Assert.Equal(0, rc);
        Assert.NotNull(r.Capacity);
        Assert.Equal(40, r.Capacity.HighestHeld);
        Assert.Equal([20L, 40L], r.Capacity.Steps.Select(s => s.Connections));
        Assert.All(r.Capacity.Steps, s => Assert.True(s.Held));

        // An SLO nobody can meet: the first level breaks and the exit code says so.
        rc = await Program.Main(
        [
            "capacity", "--url", server.Url, "--publish-url", server.PublishUrl, "--levels", "10,20", "--rate", "400",
            "--transport", "websocket", "--prompts", "1", "--slo", "p99=0ms", "--quiet",
        ]);
        Assert.Equal(1, rc);
    }

    [Fact]
    public async Task ConnectSpikeWithWorkersMergesIntoOneReport()
    {
        await using ReferenceServer server = await ReferenceServer.StartAsync();
        string dir = Path.Combine(Path.GetTempPath(), $"loadgen-connect-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            // Workers are child processes of the loadgen executable itself, so run it, not the test host.
            string exe = Path.Combine(AppContext.BaseDirectory, "loadgen.dll");
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string arg in (string[])[exe, "connect", "--url", server.Url, "--connections", "60", "--ramp", "spike", "--duration", "1s",
                "--workers", "2", "--source-ips", "127.0.0.2-127.0.0.4", "--report", Path.Combine(dir, "a.json"), "--quiet"])
            {
                psi.ArgumentList.Add(arg);
            }

            using Process p = Process.Start(psi)!;
            Task<string> stdout = p.StandardOutput.ReadToEndAsync();
            Task<string> stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(60_000), "loadgen did not finish");
            Assert.True(p.ExitCode == 0, await stderr);
            Assert.Contains("60 wanted, peak 60", await stdout);
            Report a = Report.FromJson(await File.ReadAllTextAsync(Path.Combine(dir, "a.json")));
            Assert.Equal(2, a.Processes);
            Assert.Equal(60, a.PeakConnected);
            Assert.Equal(60, a.ConnectTime.Count);
            Assert.Empty(a.Errors);

            // merge: two runs' reports add up exactly.
            int rc = await Program.Main(["merge", Path.Combine(dir, "a.json"), Path.Combine(dir, "a.json"), "--report", Path.Combine(dir, "m.json")]);
            Assert.Equal(0, rc);
            Report m = Report.FromJson(await File.ReadAllTextAsync(Path.Combine(dir, "m.json")));
            Assert.Equal(4, m.Processes);
            Assert.Equal(120, m.ConnectTime.Count);
            Assert.Equal(Histogram.FromData(a.ConnectTime).ValueAt(99), Histogram.FromData(m.ConnectTime).ValueAt(99));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // socket.io with connectionStateRecovery on, and the same publish endpoint; the reference server leaves recovery off.
    private const string RecoveringServer = """
        import http from "node:http";
        import { Server } from "socket.io";
        const [port, adminPort] = process.argv.slice(1).map(Number);
        const server = http.createServer();
        const io = new Server(server, { connectionStateRecovery: { maxDisconnectionDuration: 60000 } });
        io.on("connection", (s) => s.on("time", (ack) => ack({ now: Date.now() })));
        server.listen(port, "127.0.0.1");
        http.createServer((req, res) => {
          let body = "";
          req.on("data", (c) => (body += c));
          req.on("end", () => { const m = JSON.parse(body); io.of(m.namespace).emit(m.event, ...m.data); res.writeHead(202); res.end("{}"); });
        }).listen(adminPort, "127.0.0.1", () => console.log("listening"));
        process.stdin.on("end", () => process.exit(0));
        process.stdin.resume();
        """;

    [Fact]
    public async Task StormRecoversConnectionStateWhenTheServerOffersIt()
    {
        string node = Path.Combine(ReferenceServer.RepoRoot(), "tests", "node");
        if (!Directory.Exists(Path.Combine(node, "node_modules", "socket.io")))
        {
            Assert.Fail("tests/node/node_modules is missing: run `npm ci --prefix tests/node` first");
        }

        int port = FreePort(), adminPort = FreePort();
        var psi = new ProcessStartInfo("node") { WorkingDirectory = node, RedirectStandardInput = true, RedirectStandardOutput = true };
        foreach (string arg in (string[])["--input-type=module", "-e", RecoveringServer, port.ToString(), adminPort.ToString()])
        {
            psi.ArgumentList.Add(arg);
        }

        using Process server = Process.Start(psi)!;
        try
        {
            Assert.Equal("listening", await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(15)));
            string report = Path.Combine(Path.GetTempPath(), $"loadgen-storm-{Guid.NewGuid():N}.json");
            int rc = await Program.Main(
            [
                "storm", "--url", $"http://127.0.0.1:{port}", "--publish-url", $"http://127.0.0.1:{adminPort}/v1/publish",
                "--connections", "30", "--rate", "300", "--duration", "1s", "--storm-fraction", "1", "--quiet", "--report", report,
            ]);
            Report r = Report.FromJson(await File.ReadAllTextAsync(report));
            File.Delete(report);
            Assert.Equal(0, rc);
            Assert.NotNull(r.Storm);
            Assert.Equal(30, r.Storm.Dropped);
            Assert.True(r.Storm.SecondsTo99Percent > 0, "everyone came back");
            Assert.Equal(30, r.Recovered); // pid + offset sent in CONNECT, and the server recognised them
            Assert.Equal(30, r.Prompts[0].Received);
        }
        finally
        {
            server.StandardInput.Close();
            if (!server.WaitForExit(3000))
            {
                server.Kill();
            }
        }
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }
}
