using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Gateway.LoadGen.Tests;

/// <summary>The real Node socket.io 4.8 server of tests/node, on free loopback ports; stopped by closing its stdin.</summary>
public sealed class ReferenceServer : IAsyncDisposable
{
    private Process? _process;

    private ReferenceServer(int port, int adminPort, string[] extra)
    {
        Port = port;
        AdminPort = adminPort;
        Extra = extra;
    }

    public int Port { get; }

    public int AdminPort { get; }

    private string[] Extra { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public string PublishUrl => $"http://127.0.0.1:{AdminPort}/v1/publish";

    public static string RepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Gateway.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("Gateway.sln not found above " + AppContext.BaseDirectory);
    }

    public static async Task<ReferenceServer> StartAsync(params string[] extra)
    {
        var server = new ReferenceServer(FreePort(), FreePort(), extra);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts (or restarts, after <see cref="StopAsync"/>) on the same ports.</summary>
    public async Task StartAgainAsync()
    {
        string node = Path.Combine(RepoRoot(), "tests", "node");
        if (!Directory.Exists(Path.Combine(node, "node_modules", "socket.io")))
        {
            Assert.Fail($"tests/node/node_modules is missing: run `npm ci --prefix tests/node` first ({node})");
        }

        var psi = new ProcessStartInfo("node")
        {
            WorkingDirectory = node,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in (string[])["reference-server.mjs", "--port", Port.ToString(), "--admin-port", AdminPort.ToString(), "--exit-on-stdin-close", .. Extra])
        {
            psi.ArgumentList.Add(a);
        }

        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        Task<string?> line = _process.StandardOutput.ReadLineAsync();
        if (await Task.WhenAny(line, Task.Delay(30_000)) != line || line.Result is null || !line.Result.Contains("listening"))
        {
            _process.Kill();
            Assert.Fail("reference server did not start within 30 s");
        }
    }

    public async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }

        _process.Kill(); // abrupt, like a crash: clients see the transport close
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null && !_process.HasExited)
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(3000))
            {
                _process.Kill();
            }
        }

        await StopAsync();
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
