using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gateway.Streams;
using StackExchange.Redis;

namespace Gateway.Tests.EndToEnd;

/// <summary>One gateway of a <see cref="RegionProcess"/>: its URLs and pid as tools/region printed them.</summary>
public sealed class RegionGateway(int number, string url, string adminUrl, int pid, string logPath) : IDisposable
{
    /// <summary>1, 2, …: HAProxy's <c>gateway-N</c>.</summary>
    public int Number { get; } = number;

    /// <summary>Its own public port (clients go through the balancer instead).</summary>
    public string Url { get; } = url;

    public string AdminUrl { get; } = adminUrl;

    public int Pid { get; } = pid;

    public string LogPath { get; } = logPath;

    public HttpClient Admin { get; } = new() { BaseAddress = new Uri(adminUrl), Timeout = TimeSpan.FromSeconds(5) };

    public async Task<JsonElement> StatsAsync()
    {
        using JsonDocument doc = JsonDocument.Parse(await Admin.GetStringAsync("/v1/stats"));
        return doc.RootElement.Clone();
    }

    /// <summary>The last lines of its log (stdout and stderr), for failure messages.</summary>
    public string RecentLog()
    {
        try
        {
            return string.Join("\n", File.ReadLines(LogPath).TakeLast(30));
        }
        catch (IOException e)
        {
            return $"(log unreadable: {e.Message})";
        }
    }

    public override string ToString() => $"gateway {Number} ({Url}, pid {Pid})";

    public void Dispose() => Admin.Dispose();
}

/// <summary>
/// A region started by <c>tools/region</c> itself (so the tool is what is tested): a redis-server, N gateways in Redis
/// mode and HAProxy in TCP mode, round robin, no stickiness, in front of them. Gives the balancer's URL, each gateway's
/// URLs and pid (to SIGKILL one), and the test's own connection to the region's Redis, which plays the backend.
/// Disposing sends the tool SIGTERM, which stops everything it started by pid; the tool also stops by itself once
/// this test process is gone (<c>--parent</c>).
/// </summary>
public sealed partial class RegionProcess : IAsyncDisposable
{
    private readonly Process _tool;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly List<RegionGateway> _gateways = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<int> _childPids = [];
    private ConnectionMultiplexer? _backend;

    private RegionProcess(Process tool) => _tool = tool;

    public string BalancerUrl { get; private set; } = "";

    public IReadOnlyList<RegionGateway> Gateways => _gateways;

    /// <summary>host:port of the region's redis-server.</summary>
    public string RedisEndpoint { get; private set; } = "";

    public PromptStream Prompts { get; } = new();

    /// <summary>What tools/region printed (stdout and stderr), for failure messages.</summary>
    public string ToolOutput => string.Join("\n", _output.TakeLast(60));

    /// <summary>Runs <c>tools/region --gateways N --port &lt;free&gt; --no-build</c> with the tests' Gateway.dll; returns once it printed "ready".</summary>
    /// <param name="gatewayArguments">Appended to every gateway's command line (after <c>--</c>).</param>
    public static async Task<RegionProcess> StartAsync(int gateways, params string[] gatewayArguments)
    {
        var psi = new ProcessStartInfo("bash")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = TestPaths.RepoRoot,
        };
        foreach (string arg in new[]
        {
            Path.Combine(TestPaths.RepoRoot, "tools", "region"), "--gateways", gateways.ToString(CultureInfo.InvariantCulture),
            "--port", ServerProcess.FreePort().ToString(CultureInfo.InvariantCulture), "--gateway-dll", TestPaths.GatewayDll,
            "--parent", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), "--",
        })
        {
            psi.ArgumentList.Add(arg);
        }

        foreach (string arg in gatewayArguments)
        {
            psi.ArgumentList.Add(arg);
        }

        Process tool = Process.Start(psi) ?? throw new InvalidOperationException("could not start tools/region");
        var region = new RegionProcess(tool);
        tool.OutputDataReceived += (_, e) => region.OnLine(e.Data);
        tool.ErrorDataReceived += (_, e) => region.Record("err", e.Data);
        tool.BeginOutputReadLine();
        tool.BeginErrorReadLine();

        // Three gateways starting at once on a loaded 2-core machine take a while; the tool gives up after 30 s each.
        Task ready = region._ready.Task;
        Task exited = tool.WaitForExitAsync();
        Task first = await Task.WhenAny(ready, exited, Task.Delay(TimeSpan.FromSeconds(120)));
        if (first != ready || ready.IsFaulted)
        {
            string why = first == exited ? $"exited with code {tool.ExitCode}" : "printed no 'ready' within 120 s";
            string output = region.ToolOutput;
            await region.DisposeAsync();
            throw new InvalidOperationException($"tools/region {why}:\n{output}");
        }

        return region;
    }

    private void Record(string stream, string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue($"[{stream}] {line}");
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }

    /// <summary>Reads the tool's stdout: one line per part (see tools/region), then "ready".</summary>
    private void OnLine(string? line)
    {
        Record("out", line);
        if (line is null)
        {
            return;
        }

        try
        {
            if (GatewayLine().Match(line) is { Success: true } g)
            {
                var gateway = new RegionGateway(int.Parse(g.Groups["n"].Value, CultureInfo.InvariantCulture), g.Groups["url"].Value,
                    g.Groups["admin"].Value, int.Parse(g.Groups["pid"].Value, CultureInfo.InvariantCulture), g.Groups["log"].Value);
                lock (_gateways)
                {
                    _gateways.Add(gateway);
                    _childPids.Add(gateway.Pid);
                }
            }
            else if (RedisLine().Match(line) is { Success: true } r)
            {
                RedisEndpoint = r.Groups["endpoint"].Value;
                lock (_gateways)
                {
                    _childPids.Add(int.Parse(r.Groups["pid"].Value, CultureInfo.InvariantCulture));
                }
            }
            else if (BalancerLine().Match(line) is { Success: true } b)
            {
                BalancerUrl = b.Groups["url"].Value;
                lock (_gateways)
                {
                    _childPids.Add(int.Parse(b.Groups["pid"].Value, CultureInfo.InvariantCulture));
                }
            }
            else if (line == "ready")
            {
                _ready.TrySetResult();
            }
        }
        catch (FormatException e)
        {
            _ready.TrySetException(e);
        }
    }

    [GeneratedRegex(@"^gateway (?<n>\d+) (?<url>http://\S+) admin (?<admin>http://\S+) health \S+ pid (?<pid>\d+) log (?<log>\S+)$")]
    private static partial Regex GatewayLine();

    [GeneratedRegex(@"^redis (?<endpoint>\S+) pid (?<pid>\d+)$")]
    private static partial Regex RedisLine();

    [GeneratedRegex(@"^balancer (?<url>http://\S+) pid (?<pid>\d+) ")]
    private static partial Regex BalancerLine();

    /// <summary>
    /// Polls a gateway's <c>/v1/stats</c> (<paramref name="stats"/>) until its <c>region</c> satisfies
    /// <paramref name="condition"/> (counts travel with the 250 ms heartbeats); fails after <paramref name="limit"/>.
    /// </summary>
    public static async Task WaitForRegionCountsAsync(Func<Task<JsonElement>> stats, string gateway, Func<JsonElement, bool> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        JsonElement region = default;
        while (clock.Elapsed < limit)
        {
            region = (await stats()).GetProperty("region");
            if (region.ValueKind == JsonValueKind.Object && condition(region))
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"{gateway}: /v1/stats region did not reach the expected counts within {limit.TotalSeconds} s; last: {region}");
    }

    /// <summary>SIGKILL, as a crash: no shutdown hook runs, no session record is written.</summary>
    public static void Kill(RegionGateway gateway)
    {
        using Process process = Process.GetProcessById(gateway.Pid);
        process.Kill();
        process.WaitForExit(10_000);
    }

    /// <summary>The test's connection to the region's Redis: fails fast while Redis is away, reconnects by itself.</summary>
    public async Task<IConnectionMultiplexer> BackendAsync()
    {
        if (_backend is null)
        {
            ConfigurationOptions options = ConfigurationOptions.Parse($"{RedisEndpoint},abortConnect=false,connectTimeout=2000,syncTimeout=5000");
            options.BacklogPolicy = BacklogPolicy.FailFast;
            _backend = await ConnectionMultiplexer.ConnectAsync(options);
        }

        return _backend;
    }

    /// <summary>Publishes as a backend does (XADD to the region's prompt stream + wake-up); returns the stream id.</summary>
    public async Task<string> PublishAsync(PromptEntry prompt) => await Prompts.PublishAsync(await BackendAsync(), prompt);

    /// <summary>Every gateway's log tail and the tool's output, for failure messages.</summary>
    public string Describe() =>
        $"tools/region:\n{ToolOutput}\n" + string.Join("\n", _gateways.Select(g => $"--- {g}:\n{g.RecentLog()}"));

    public async ValueTask DisposeAsync()
    {
        if (_backend is not null)
        {
            await _backend.CloseAsync(allowCommandsToComplete: false);
            _backend.Dispose();
        }

        bool stoppedByTool = true;
        if (!_tool.HasExited)
        {
            // SIGTERM: the tool's own stop (by pid, balancer first) is what an operator's Ctrl+C runs.
            using (Process? kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _tool.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
            {
                kill?.WaitForExit();
            }

            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _tool.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                _tool.Kill();
                stoppedByTool = false;
            }
        }

        // Only when the tool hung and was killed: the children it reported, by pid (otherwise they are gone already
        // and their pids may belong to someone else by now).
        foreach (int pid in stoppedByTool ? [] : _childPids)
        {
            try
            {
                using Process child = Process.GetProcessById(pid);
                child.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
            }
        }

        foreach (RegionGateway gateway in _gateways)
        {
            gateway.Dispose();
        }

        _tool.Dispose();
    }
}
