using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Gateway.Tests.Redis;

/// <summary>
/// A real <c>redis-server</c> child process on a free loopback port, with an append-only file fsynced on every write
/// (so a kill loses nothing it acknowledged). <see cref="Kill"/> and <see cref="StartAgainAsync"/> simulate an outage
/// on the same port and data directory. Killed by pid on dispose; its directory is deleted.
/// </summary>
public sealed class RedisServer : IDisposable
{
    private readonly string _directory;
    private Process? _process;

    private RedisServer(int port, string directory)
    {
        Port = port;
        _directory = directory;
    }

    public int Port { get; }

    /// <summary>StackExchange.Redis configuration string for this server.</summary>
    public string Configuration => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000,syncTimeout=2000";

    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    public static async Task<RedisServer> StartAsync()
    {
        string directory = Path.Combine(Path.GetTempPath(), "gateway-redis-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var server = new RedisServer(FreePort(), directory);
        try
        {
            await server.StartAgainAsync();
        }
        catch
        {
            server.Dispose();
            throw;
        }

        return server;
    }

    /// <summary>Starts the server (again) on the same port and directory; returns once it answers PING.</summary>
    public async Task StartAgainAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("redis-server is already running");
        }

        string binary = File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server";
        var psi = new ProcessStartInfo(binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _directory,
        };
        foreach (string arg in new[]
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--dir", _directory, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
            "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning",
        })
        {
            psi.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("redis-server did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("redis-server is not installed (test.sh installs the Debian package redis-server)", e);
        }

        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode} on port {Port}");
            }

            if (await PingAsync())
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"redis-server on port {Port} did not answer PING within 15 s");
    }

    /// <summary>SIGKILL: the outage a crash or a network cut looks like to clients.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            process.WaitForExit(5000);
        }
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            NetworkStream stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            using var cts = new CancellationTokenSource(1000);
            int read = await stream.ReadAsync(buffer, cts.Token);
            return read >= 5 && buffer.AsSpan(0, 5).SequenceEqual("+PONG"u8);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
