using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Gateway.Tests.EndToEnd;

/// <summary>Which implementation of the contract a scenario runs against.</summary>
public enum ServerKind
{
    /// <summary>tests/node/reference-server.mjs on Node's socket.io 4.8.</summary>
    Reference,

    /// <summary>Our gateway: dotnet src/Gateway/bin/&lt;Configuration&gt;/net10.0/Gateway.dll.</summary>
    Gateway,
}

/// <summary>Server settings that need a separately started instance.</summary>
public sealed record ServerProfile(int? PingInterval = null, int? PingTimeout = null)
{
    public static readonly ServerProfile Default = new();

    public static readonly ServerProfile FastHeartbeat = new(PingInterval: 300, PingTimeout: 300);
}

/// <summary>A server under test as a child process on free loopback ports; killed by pid on dispose.</summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ServerProcess(ServerKind kind, ServerProfile profile, Process process, int port, int adminPort)
    {
        Kind = kind;
        Profile = profile;
        _process = process;
        Port = port;
        AdminPort = adminPort;
        Admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}"), Timeout = TimeSpan.FromSeconds(5) };
    }

    public ServerKind Kind { get; }

    public ServerProfile Profile { get; }

    public int Port { get; }

    public int AdminPort { get; }

    public int Pid => _process.Id;

    public string Url => $"http://127.0.0.1:{Port}";

    public string AdminUrl => $"http://127.0.0.1:{AdminPort}";

    public HttpClient Admin { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines (up to 500) the server printed on stdout, oldest first.</summary>
    public IReadOnlyList<string> StandardOutputLines =>
        _output.Where(l => l.StartsWith("[out] ", StringComparison.Ordinal)).Select(l => l["[out] ".Length..]).ToArray();

    /// <summary>The last lines the server printed (stdout and stderr), for failure messages.</summary>
    public string RecentOutput => string.Join("\n", _output.TakeLast(60));

    /// <summary>Every line kept so far (the last 500), oldest first.</summary>
    public IReadOnlyList<string> Output => [.. _output];

    /// <summary>Waits (up to <paramref name="limit"/>) until the server has printed a line that <paramref name="match"/> accepts; returns it.</summary>
    public async Task<string> WaitForOutputAsync(Func<string, bool> match, TimeSpan limit, string what)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            string? line = _output.FirstOrDefault(match);
            if (line is not null)
            {
                return line;
            }

            if (watch.Elapsed > limit || _process.HasExited)
            {
                throw new TimeoutException($"{Kind} server printed no line with {what} within {limit}. Output:\n{RecentOutput}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Starts a server and waits until it answers <paramref name="readyPath"/> with 200.</summary>
    /// <param name="extraArguments">Appended to the command line (the gateway's <c>--Gateway:…=…</c> keys).</param>
    /// <param name="readyPath">What "started" means: <c>/readyz</c>, or <c>/healthz</c> for a gateway expected not ready.</param>
    /// <param name="openFilesLimit">Started under <c>prlimit --nofile=N:N</c> (same process: prlimit execs it).</param>
    public static async Task<ServerProcess> StartAsync(
        ServerKind kind, ServerProfile profile, IReadOnlyList<string>? extraArguments = null, string readyPath = "/readyz", int? openFilesLimit = null)
    {
        int port = FreePort();
        int adminPort = FreePort();
        var psi = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        if (kind == ServerKind.Reference)
        {
            psi.FileName = "node";
            psi.WorkingDirectory = TestPaths.NodeDirWithPackages();
            foreach (string arg in new[]
            {
                "reference-server.mjs", "--port", port.ToString(CultureInfo), "--admin-port", adminPort.ToString(CultureInfo),
                "--namespaces", "/,/custom", "--echo",
            })
            {
                psi.ArgumentList.Add(arg);
            }

            if (profile.PingInterval is int interval)
            {
                psi.ArgumentList.Add("--ping-interval");
                psi.ArgumentList.Add(interval.ToString(CultureInfo));
            }

            if (profile.PingTimeout is int timeout)
            {
                psi.ArgumentList.Add("--ping-timeout");
                psi.ArgumentList.Add(timeout.ToString(CultureInfo));
            }
        }
        else
        {
            string dll = TestPaths.GatewayDll;
            psi.FileName = "dotnet";
            psi.WorkingDirectory = Path.GetDirectoryName(dll)!;
            if (openFilesLimit is int limit)
            {
                psi.FileName = "prlimit";
                psi.ArgumentList.Add($"--nofile={limit}:{limit}");
                psi.ArgumentList.Add("dotnet");
            }

            foreach (string arg in new[]
            {
                dll, $"--Gateway:Port={port}", $"--Gateway:AdminPort={adminPort}", "--Gateway:BindAddress=127.0.0.1",
                "--Gateway:Diagnostics:Echo=true", "--Gateway:Namespaces:0=/", "--Gateway:Namespaces:1=/custom",
                "--Logging:LogLevel:Default=Warning",
            })
            {
                psi.ArgumentList.Add(arg);
            }

            if (profile.PingInterval is int interval)
            {
                psi.ArgumentList.Add($"--Gateway:PingInterval={interval}");
            }

            if (profile.PingTimeout is int timeout)
            {
                psi.ArgumentList.Add($"--Gateway:PingTimeout={timeout}");
            }
        }

        foreach (string arg in extraArguments ?? [])
        {
            psi.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = psi };
        var server = new ServerProcess(kind, profile, process, port, adminPort);
        process.OutputDataReceived += (_, e) => server.Record("out", e.Data);
        process.ErrorDataReceived += (_, e) => server.Record("err", e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {psi.FileName}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await server.WaitReadyAsync(TimeSpan.FromSeconds(30), readyPath);
        }
        catch
        {
            server.Dispose();
            throw;
        }

        return server;
    }

    private static readonly IFormatProvider CultureInfo = System.Globalization.CultureInfo.InvariantCulture;

    private void Record(string stream, string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue($"[{stream}] {line}");
        while (_output.Count > 500 && _output.TryDequeue(out _))
        {
        }
    }

    private async Task WaitReadyAsync(TimeSpan limit, string readyPath)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < limit)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"{Kind} server exited with code {_process.ExitCode} before it was ready. Output:\n{RecentOutput}");
            }

            try
            {
                using HttpResponseMessage res = await Admin.GetAsync(readyPath);
                if (res.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{Kind} server not ready (GET {readyPath} = 200) within {limit}. Output:\n{RecentOutput}");
    }

    public async Task<JsonElement> StatsAsync()
    {
        string json = await Admin.GetStringAsync("/v1/stats");
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    public async Task<(HttpStatusCode Status, string Body)> PublishAsync(object body)
    {
        using var content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using HttpResponseMessage res = await Admin.PostAsync("/v1/publish", content);
        return (res.StatusCode, await res.Content.ReadAsStringAsync());
    }

    /// <summary>Waits for GET /v1/stats connections == 0; returns the last stats seen.</summary>
    public async Task<(bool Zero, string LastStats)> WaitForNoConnectionsAsync(TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        string last = "(none)";
        while (true)
        {
            try
            {
                JsonElement stats = await StatsAsync();
                last = stats.GetRawText();
                if (stats.GetProperty("connections").GetInt64() == 0)
                {
                    return (true, last);
                }
            }
            catch (HttpRequestException e)
            {
                last = $"stats request failed: {e.Message}";
            }
            catch (TaskCanceledException)
            {
                last = "stats request timed out";
            }

            if (watch.Elapsed > limit)
            {
                return (false, last);
            }

            await Task.Delay(20);
        }
    }

    public async Task AssertNoConnectionsAsync()
    {
        (bool zero, string last) = await WaitForNoConnectionsAsync(TimeSpan.FromSeconds(30));
        Assert.True(zero, $"{Kind}: GET /v1/stats connections did not return to 0 within 30 s after the test; last stats: {last}");
    }

    /// <summary>SIGTERM, as systemd stops a service: the gateway drains, then exits by itself (<see cref="WaitForExitAsync"/>).</summary>
    public void Terminate()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Pid.ToString(CultureInfo)]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("could not run kill");
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -TERM {Pid} failed with exit code {kill.ExitCode}");
        }
    }

    /// <summary>Waits for the process to exit by itself; its exit code, or null when it is still running after <paramref name="limit"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan limit)
    {
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>SIGKILL, as a crash: no shutdown hook runs (a Redis-mode gateway then writes no session records).</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }
    }

    public void Dispose()
    {
        Admin.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    /// <summary>A loopback port free right now (the OS picks it).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Starts each (kind, profile) server once, on first use, and restarts one that died.</summary>
public sealed class ServerFarm : IDisposable
{
    private readonly Dictionary<(ServerKind, ServerProfile), ServerProcess> _servers = [];
    private readonly SemaphoreSlim _lock = new(1, 1);

    public async Task<ServerProcess> GetAsync(ServerKind kind, ServerProfile? profile = null)
    {
        profile ??= ServerProfile.Default;
        await _lock.WaitAsync();
        try
        {
            if (_servers.TryGetValue((kind, profile), out ServerProcess? server))
            {
                if (!server.HasExited)
                {
                    return server;
                }

                string output = server.RecentOutput;
                server.Dispose();
                _servers.Remove((kind, profile));
                throw new InvalidOperationException($"{kind} server (pid {server.Pid}) had died before this test; it will be restarted. Output:\n{output}");
            }

            server = await ServerProcess.StartAsync(kind, profile);
            _servers[(kind, profile)] = server;
            return server;
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose()
    {
        foreach (ServerProcess server in _servers.Values)
        {
            server.Dispose();
        }

        _servers.Clear();
        _lock.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<ServerFarm>
{
    public const string Name = "end-to-end";
}
