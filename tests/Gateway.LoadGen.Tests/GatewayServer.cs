using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace Gateway.LoadGen.Tests;

/// <summary>Our gateway (src/Gateway Release/Debug build) as a child process on free loopback ports.</summary>
public sealed class GatewayServer : IAsyncDisposable
{
    private readonly string[] _extra;
    private Process? _process;

    private GatewayServer(int port, int adminPort, string[] extra)
    {
        Port = port;
        AdminPort = adminPort;
        _extra = extra;
    }

    public int Port { get; }

    public int AdminPort { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public string PublishUrl => $"http://127.0.0.1:{AdminPort}/v1/publish";

    public static string Dll
    {
        get
        {
            string? built = typeof(GatewayServer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "GatewayDll")?.Value;
            if (built is not null && File.Exists(built))
            {
                return built;
            }

            foreach (string configuration in new[] { "Release", "Debug" })
            {
                string candidate = Path.Combine(ReferenceServer.RepoRoot(), "src", "Gateway", "bin", configuration, "net10.0", "Gateway.dll");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new InvalidOperationException("Gateway.dll not found: build src/Gateway first");
        }
    }

    /// <summary>The command line (for a shell) that starts this gateway again, writing its pid to <paramref name="pidFile"/>.</summary>
    public string StartCommand(string pidFile) =>
        $"cd '{Path.GetDirectoryName(Dll)}' && (setsid dotnet '{Dll}' {string.Join(' ', Arguments().Select(a => "'" + a + "'"))} >/dev/null 2>&1 & echo $! > '{pidFile}')";

    public int Pid => _process?.Id ?? -1;

    public static async Task<GatewayServer> StartAsync(params string[] extra)
    {
        var server = new GatewayServer(FreePort(), FreePort(), extra);
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetDirectoryName(Dll)!, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Dll);
        foreach (string a in server.Arguments())
        {
            psi.ArgumentList.Add(a);
        }

        server._process = Process.Start(psi)!;
        server._process.OutputDataReceived += (_, _) => { };
        server._process.ErrorDataReceived += (_, _) => { };
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        if (!await server.WaitReadyAsync(TimeSpan.FromSeconds(30)))
        {
            await server.DisposeAsync();
            Assert.Fail("gateway did not become ready");
        }

        return server;
    }

    private IEnumerable<string> Arguments() =>
        [$"--Gateway:Port={Port}", $"--Gateway:AdminPort={AdminPort}", "--Gateway:BindAddress=127.0.0.1", "--Logging:LogLevel:Default=Warning", .. _extra];

    public async Task<bool> WaitReadyAsync(TimeSpan limit)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            try
            {
                if ((await http.GetAsync($"http://127.0.0.1:{AdminPort}/readyz")).StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(50);
        }

        return false;
    }

    public ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        return ValueTask.CompletedTask;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
