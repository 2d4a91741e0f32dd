using System.Diagnostics;
using System.Text;

namespace Gateway.LoadGen.Tests;

[Trait("Category", "EndToEnd")]
public class EndToEndTests
{
    private static async Task<bool> WaitUntil(Func<bool> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(100);
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
            "broadcast", "--url", server.Url, "--publish-url", server.PublishUrl, "--connections", "1000", "--rate", "1000",
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

    [Fact]
    public async Task ClientsReconnectWithBackoffAfterTheServerRestarts()
    {
        await using ReferenceServer server = await ReferenceServer.StartAsync();
        Options o = Options.Parse(["broadcast", "--url", server.Url, "--connections", "50", "--rate", "500", "--prompts", "1"]);
        var run = new LocalRun(o, 0, 50);
        run.Start();
        Assert.True(await WaitUntil(() => run.Metrics.Connected == 50 && run.Metrics.OnWebSocket == 50, TimeSpan.FromSeconds(15)), "first connect");

        await server.StopAsync();
        Assert.True(await WaitUntil(() => run.Metrics.Connected == 0, TimeSpan.FromSeconds(5)), "drop seen");
        await Task.Delay(500);
        await server.StartAgainAsync();

        // Backoff: 1 s ± 50 %, then 2 s ± 50 %, ...: everyone is back within a few seconds.
        Assert.True(await WaitUntil(() => run.Metrics.Connected == 50 && run.Metrics.OnWebSocket == 50, TimeSpan.FromSeconds(15)), "reconnected: " + run.Metrics.Connected);
        Assert.True(run.Metrics.Reconnects >= 50);

        // The new sessions are real: a broadcast reaches all of them.
        using var http = new HttpClient();
        string body = $$"""{"namespace":"/","channel":null,"event":"prompt","data":[{"id":"p-1","sentAt":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},"payload":"x"}]}""";
        using HttpResponseMessage response = await http.PostAsync(server.PublishUrl, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode);
        Assert.True(await WaitUntil(() => run.Metrics.Prompts[0].Received == 50, TimeSpan.FromSeconds(5)), "broadcast after reconnect");
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
        Assert.True(await WaitUntil(() => run.Metrics.Reconnects >= 5, TimeSpan.FromSeconds(10)), "reconnects " + run.Metrics.Reconnects);
        Report r = await run.StopAsync();
        Assert.True(r.Errors.GetValueOrDefault("closed") >= 5, string.Join(",", r.Errors));
    }

    [Fact]
    public async Task PollingShareStaysOnPollingAndStillAnswersPings()
    {
        await using ReferenceServer server = await ReferenceServer.StartAsync("--ping-interval", "300", "--ping-timeout", "1000");
        Options o = Options.Parse(["connect", "--url", server.Url, "--connections", "10", "--polling-share", "0.5"]);
        var run = new LocalRun(o, 0, 10);
        run.Start();
        Assert.True(await WaitUntil(() => run.Metrics.Connected == 10 && run.Metrics.OnPolling == 5, TimeSpan.FromSeconds(10)), "connected");
        await Task.Delay(2000); // several heartbeats
        Assert.Equal(10, run.Metrics.Connected);
        Assert.True(run.Metrics.PongsSent >= 30, "pongs " + run.Metrics.PongsSent);
        Report r = await run.StopAsync();
        Assert.Equal(0, r.Reconnects);
        Assert.Empty(r.Errors);
    }
}
