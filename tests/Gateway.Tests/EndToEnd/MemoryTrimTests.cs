using System.Net;
using System.Net.WebSockets;
using System.Text.Json;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// After a peak, memory goes back: the transport's pipe blocks that stalled sockets filled are returned to Kestrel's
/// pool when those sockets are closed, the pool evicts idle blocks, and once the process is quiet the gateway
/// collects them (<c>Gateway:Memory</c>). Without the trim nothing allocates at idle, so no collection ever runs and
/// the heap keeps the whole peak (measured: 1.2 GB with no socket left, 150 s later).
/// </summary>
public sealed class MemoryTrimTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task AfterStalledSocketsAreClosed_TheQuietGatewayCollectsWhatTheirPipesHeld()
    {
        const int stalledSockets = 12;
        const long cap = 16L << 20;
        using ServerProcess gateway = await ServerProcess.StartAsync(ServerKind.Gateway, ServerProfile.Default,
        [
            $"--Gateway:MaxOutboundBytes={cap}", "--Gateway:Memory:TrimAfterQuiet=1000", $"--Gateway:Memory:TrimAboveBytes={4L << 20}",
            "--Logging:LogLevel:Gateway.Hosting.MemoryTrimService=Information",
        ]);

        // Sockets that join and never read again: each holds up to the cap in its pipe before it is closed.
        var stalled = new List<ClientWebSocket>();
        try
        {
            for (int i = 0; i < stalledSockets; i++)
            {
                var socket = new ClientWebSocket();
                await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.Port}/socket.io/?EIO=4&transport=websocket"), CancellationToken.None);
                await socket.SendAsync("40"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                stalled.Add(socket);
            }

            await WaitForStatsAsync(gateway, s => s.GetProperty("namespaces").GetProperty("/").GetInt64() == stalledSockets, "every stalled socket joined");

            string payload = new('x', 60_000);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; (await gateway.StatsAsync()).GetProperty("slowConsumers").GetInt64() < stalledSockets; i++)
            {
                for (int j = 0; j < 20; j++)
                {
                    Assert.Equal(HttpStatusCode.Accepted, (await gateway.PublishAsync(new { @event = "bulk", data = new object[] { i, payload } })).Status);
                }

                Assert.True(clock.Elapsed < Deadline, "the stalled sockets were not all closed as slow consumers");
            }

            JsonElement peak = await WaitForStatsAsync(gateway, s => s.GetProperty("connections").GetInt64() == 0, "the slow consumers closed");
            long peakHeap = peak.GetProperty("process").GetProperty("managedHeapBytes").GetInt64();
            long trimsAtPeak = peak.GetProperty("process").GetProperty("memoryTrims").GetInt64();
            Assert.True(peakHeap > stalledSockets * (cap / 2), $"the peak was not built: heap {peakHeap >> 20} MiB");

            // The pool gives back a few percent of its blocks every 10 s; each trim collects what it gave back.
            JsonElement after = await WaitForStatsAsync(gateway, s =>
            {
                JsonElement process = s.GetProperty("process");
                return process.GetProperty("memoryTrims").GetInt64() > trimsAtPeak && process.GetProperty("managedHeapBytes").GetInt64() < peakHeap - (16L << 20);
            }, "a trim collected the evicted pipe blocks");
            await gateway.WaitForOutputAsync(line => line.Contains("Memory trimmed after a quiet interval", StringComparison.Ordinal), Deadline, "the trim's log line");
            Assert.Equal(0, after.GetProperty("connections").GetInt64());
        }
        finally
        {
            foreach (ClientWebSocket socket in stalled)
            {
                socket.Abort();
                socket.Dispose();
            }
        }
    }

    private static async Task<JsonElement> WaitForStatsAsync(ServerProcess gateway, Func<JsonElement, bool> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        JsonElement stats;
        while (!condition(stats = await gateway.StatsAsync()))
        {
            Assert.True(clock.Elapsed < Deadline, $"{what}: not so within {Deadline.TotalSeconds} s; last /v1/stats {stats.GetRawText()}");
            await Task.Delay(200);
        }

        return stats;
    }
}
