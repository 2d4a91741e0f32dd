using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// The gateway's logs as an operator's collector reads them: one JSON object per stdout line, UTC timestamps, fixed
/// event ids; a lifecycle line per prompt and aggregate traffic lines instead of a line per connection.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class LogTests
{
    private const int Members = 20;
    private const int Outsiders = 5;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Publish_ToRealClients_WritesOneJsonLifecycleLineWithItsRecipients()
    {
        using ServerProcess server = await ServerProcess.StartAsync(ServerKind.Gateway, ServerProfile.Default, ["--Gateway:Diagnostics:TrafficLogInterval=500"]);
        string id = "log-" + Guid.NewGuid().ToString("N");
        using Process worker = Process.Start(NodeClient.StartInfo(server, "fanout-worker", "websocket", 60000, new
        {
            members = Members, nonMembers = Outsiders, channel = "show-42", @event = "prompt", waitMs = 30000, markerEvent = "marker",
        }))!;
        try
        {
            string? ready = await ReadLineAsync(worker);
            Assert.True(ready?.Contains("\"ready\"", StringComparison.Ordinal) == true, $"worker not ready: {ready}\n{server.RecentOutput}");

            (HttpStatusCode status, string body) = await server.PublishAsync(new { channel = "show-42", @event = "prompt", data = new object[] { 1 }, id });
            Assert.True(status == HttpStatusCode.Accepted, body);
            (status, body) = await server.PublishAsync(new { @event = "marker", data = Array.Empty<object>() });
            Assert.True(status == HttpStatusCode.Accepted, body);
            await worker.StandardInput.WriteLineAsync("report");
            await worker.StandardInput.FlushAsync();
            string? report = await ReadLineAsync(worker);
            Assert.True(report?.Contains("\"ok\":true", StringComparison.Ordinal) == true, $"every member gets the prompt: {report}");

            JsonElement line = await WaitForLineAsync(server, l => EventId(l) == 30 && State(l, "PromptId") == id, $"the lifecycle line of {id}");
            Assert.Equal("Information", line.GetProperty("LogLevel").GetString());
            Assert.Equal("Gateway.Prompts", line.GetProperty("Category").GetString());
            JsonElement state = line.GetProperty("State");
            Assert.Equal(Members, state.GetProperty("Recipients").GetInt32());
            Assert.Equal("show-42", state.GetProperty("Channel").GetString());
            Assert.Equal("/", state.GetProperty("Namespace").GetString());
            Assert.Equal("prompt", state.GetProperty("Event").GetString());
            Assert.Equal(0, state.GetProperty("SlowConsumers").GetInt32());
            Assert.Equal(JsonValueKind.Null, state.GetProperty("StreamId").ValueKind);
            Assert.True(state.GetProperty("FirstWriteMs").GetDouble() <= state.GetProperty("LastWriteMs").GetDouble(), line.GetRawText());
            Assert.True(state.GetProperty("PublishedAt").GetInt64() > 0);
            // UTC, with milliseconds: 2026-12-06T23:59:59.123Z.
            string timestamp = line.GetProperty("Timestamp").GetString()!;
            Assert.True(DateTimeOffset.TryParse(timestamp, out DateTimeOffset at) && at.Offset == TimeSpan.Zero && timestamp.EndsWith('Z'), timestamp);

            await worker.WaitForExitAsync(new CancellationTokenSource(Deadline).Token);
        }
        finally
        {
            if (!worker.HasExited)
            {
                worker.Kill(entireProcessTree: true);
            }
        }

        // The connections came and went as aggregates (per-connection events are Debug), summed over the intervals.
        await WaitForLineAsync(server, _ => SumOfTraffic(server, "Opened") >= Members + Outsiders && SumOfTraffic(server, "Closed") >= Members + Outsiders, "traffic lines counting every session opened and closed");
        Assert.All(server.StandardOutputLines, l =>
        {
            using JsonDocument doc = JsonDocument.Parse(l); // every stdout line is one JSON object
            Assert.True(doc.RootElement.TryGetProperty("EventId", out _) && doc.RootElement.TryGetProperty("Category", out _), l);
        });
    }

    private static long SumOfTraffic(ServerProcess server, string field) => server.StandardOutputLines
        .Select(Parse).Where(l => l is JsonElement e && EventId(e) == 40).Sum(l => l!.Value.GetProperty("State").GetProperty(field).GetInt64());

    private static async Task<JsonElement> WaitForLineAsync(ServerProcess server, Func<JsonElement, bool> match, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            foreach (string text in server.StandardOutputLines)
            {
                if (Parse(text) is JsonElement line && match(line))
                {
                    return line;
                }
            }

            Assert.True(clock.Elapsed < Deadline, $"{what}: no such line within {Deadline.TotalSeconds} s. Output:\n{server.RecentOutput}");
            await Task.Delay(50);
        }
    }

    private static JsonElement? Parse(string text)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static int EventId(JsonElement line) => line.TryGetProperty("EventId", out JsonElement id) ? id.GetInt32() : -1;

    private static string? State(JsonElement line, string field) =>
        line.TryGetProperty("State", out JsonElement state) && state.TryGetProperty(field, out JsonElement value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static async Task<string?> ReadLineAsync(Process process)
    {
        using var cts = new CancellationTokenSource(Deadline);
        try
        {
            return await process.StandardOutput.ReadLineAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
