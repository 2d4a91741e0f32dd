using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// The admin port's first requests are made by the gateway itself at start (<c>Hosting/AdminWarmup</c>), so the
/// show's first publish does not pay for building the route matcher and compiling the paths: and they leave no trace
/// but their log line.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class WarmupTests
{
    private const string AdminToken = "warm-up-test-token";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Start_WarmsTheAdminPortUp_WithTheAdminToken_AndPublishesNothing()
    {
        using ServerProcess server = await ServerProcess.StartAsync(ServerKind.Gateway, ServerProfile.Default, ["--Gateway:AdminToken=" + AdminToken, "--Logging:LogLevel:Default=Information"]);
        server.Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);

        string text = await server.WaitForOutputAsync(l => l.Contains("\"EventId\":81", StringComparison.Ordinal), Deadline, "the warm-up line (event 81)");
        using JsonDocument line = JsonDocument.Parse(text["[out] ".Length..]);
        JsonElement state = line.RootElement.GetProperty("State");
        Assert.Equal("Information", line.RootElement.GetProperty("LogLevel").GetString());
        Assert.Equal(200, state.GetProperty("Health").GetInt32());
        Assert.Equal(200, state.GetProperty("Readiness").GetInt32());
        // 400: refused for its namespace, after the token was accepted (401 would mean the warm-up never reached the
        // publish handler), before anything was published.
        Assert.Equal(400, state.GetProperty("Publish").GetInt32());
        Assert.DoesNotContain(server.Output, l => l.Contains("\"EventId\":82", StringComparison.Ordinal));

        JsonElement stats = await server.StatsAsync();
        Assert.Equal(0, stats.GetProperty("published").GetInt64());
        Assert.Equal(0, stats.GetProperty("ringHead").GetInt64());
        Assert.Equal(0, stats.GetProperty("channels").GetInt64());
        Assert.Equal(0, stats.GetProperty("protocolErrors").GetInt64());
        using (JsonDocument prompts = JsonDocument.Parse(await server.Admin.GetStringAsync("/v1/prompts")))
        {
            Assert.Equal(0, prompts.RootElement.GetProperty("prompts").GetArrayLength());
        }

        // The first real publish is sequence 0 and the only lifecycle line.
        (HttpStatusCode status, string body) = await server.PublishAsync(new { @event = "prompt", data = new object[] { 1 } });
        Assert.True(status == HttpStatusCode.Accepted, body);
        using (JsonDocument accepted = JsonDocument.Parse(body))
        {
            Assert.Equal(0, accepted.RootElement.GetProperty("sequence").GetInt64());
        }

        var clock = Stopwatch.StartNew();
        while (!server.Output.Any(l => l.Contains("\"EventId\":30", StringComparison.Ordinal)))
        {
            Assert.True(clock.Elapsed < Deadline, $"no lifecycle line for the first publish. Output:\n{server.RecentOutput}");
            await Task.Delay(20);
        }

        Assert.Single(server.Output, l => l.Contains("\"EventId\":30", StringComparison.Ordinal));
    }
}
