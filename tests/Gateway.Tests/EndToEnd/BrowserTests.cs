using System.Diagnostics;
using System.Globalization;
using Gateway.Tests.Redis;
using Xunit.Abstractions;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// The browser side in a real browser: headless Debian <c>chromium</c> driven by <c>playwright-core</c>
/// (tests/node/browser.mjs), against a gateway process in Redis mode (a real <c>redis-server</c>) with the demo page
/// on and <c>Gateway:Reveal:SendAhead=2000</c>. Screenshots go to <c>artifacts/browser/</c>.
/// </summary>
[Trait("Category", "EndToEnd")]
[Trait("Category", "Browser")]
public sealed class BrowserTests(ITestOutputHelper output)
{
    private const string AdminToken = "browser-test-token";
    private const int RunTimeoutMs = 150_000;

    public static string ArtifactsDir => Path.Combine(TestPaths.RepoRoot, "artifacts", "browser");

    [Fact]
    public async Task Viewers_SixSkewedClocksWithSendAhead_ShowThePromptTogetherAtRevealAndEarlyAnswersAreRefused()
    {
        using RedisServer redis = await RedisServer.StartAsync();
        int crossOriginPort = ServerProcess.FreePort();
        using ServerProcess gateway = await StartGatewayAsync(redis, $"--Gateway:Cors:Origins:0=http://127.0.0.1:{crossOriginPort}");

        ScenarioResult result = await RunAsync(gateway, "viewers", "--cross-port", crossOriginPort.ToString(CultureInfo.InvariantCulture), "--rounds", "3");

        // The measured spreads (send-ahead on vs off, same run) are part of the report, pass or fail.
        if (result.Json.TryGetProperty("observations", out var observations) && observations.TryGetProperty("summary", out var summary))
        {
            output.WriteLine("on-screen spread: " + summary.GetRawText());
        }

        Assert.True(result.Ok, result.Describe() + "\ngateway:\n" + gateway.RecentOutput);
    }

    [Fact]
    public async Task Console_OpenedWithTheAdminToken_ShowsViewersPublishesAndTalliesTheAnswers()
    {
        using RedisServer redis = await RedisServer.StartAsync();
        using ServerProcess gateway = await StartGatewayAsync(redis);

        ScenarioResult result = await RunAsync(gateway, "console");

        Assert.True(result.Ok, result.Describe() + "\ngateway:\n" + gateway.RecentOutput);
        Assert.True(File.Exists(Path.Combine(ArtifactsDir, "console.png")), "the console's screenshot is kept in artifacts/browser/");
    }

    [Fact]
    public async Task ModuleBuild_ImportedByAPageOnAnotherOrigin_ShowsAPromptAtItsReveal()
    {
        using RedisServer redis = await RedisServer.StartAsync();
        int crossOriginPort = ServerProcess.FreePort();
        using ServerProcess gateway = await StartGatewayAsync(redis, $"--Gateway:Cors:Origins:0=http://127.0.0.1:{crossOriginPort}");

        ScenarioResult result = await RunAsync(gateway, "module", "--cross-port", crossOriginPort.ToString(CultureInfo.InvariantCulture));

        Assert.True(result.Ok, result.Describe() + "\ngateway:\n" + gateway.RecentOutput);
    }

    internal static async Task<ServerProcess> StartGatewayAsync(RedisServer redis, params string[] extra) =>
        await ServerProcess.StartAsync(ServerKind.Gateway, ServerProfile.Default,
        [
            "--Gateway:Redis:Configuration=" + redis.Configuration, "--Gateway:Demo:Enabled=true",
            "--Gateway:Reveal:SendAhead=2000", "--Gateway:AdminToken=" + AdminToken, .. extra,
        ]);

    /// <summary>Runs one browser.mjs scenario against <paramref name="gateway"/>.</summary>
    internal static Task<ScenarioResult> RunAsync(ServerProcess gateway, string scenario, params string[] extra)
    {
        Assert.True(File.Exists("/usr/bin/chromium"), "Debian's chromium is missing (test.sh installs it: apt-get install chromium)");
        ProcessStartInfo psi = NodeClient.Script("browser.mjs",
        [
            "--scenario", scenario, "--url", gateway.Url, "--admin", gateway.AdminUrl, "--token", AdminToken,
            "--out", ArtifactsDir, "--timeout", RunTimeoutMs.ToString(CultureInfo.InvariantCulture), .. extra,
        ]);
        return NodeClient.RunScriptAsync(psi, $"browser.mjs {scenario}", RunTimeoutMs);
    }
}
