using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// A real HAProxy (Debian's <c>haproxy</c>, installed by test.sh) as a child process in TCP mode on a free loopback
/// port, relaying every connection to one backend with a PROXY protocol header (<c>send-proxy</c> for v1,
/// <c>send-proxy-v2</c> for v2), as an AWS NLB with proxy protocol v2 does. Killed by pid on dispose; its
/// configuration directory is deleted.
/// </summary>
public sealed class HaproxyProcess : IDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly ConcurrentQueue<string> _output = new();

    private HaproxyProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public int Pid => _process.Id;

    /// <summary>Starts HAProxy in front of 127.0.0.1:<paramref name="backendPort"/>; returns once its port accepts.</summary>
    /// <param name="sendProxy"><c>send-proxy</c> (v1) or <c>send-proxy-v2</c>.</param>
    public static async Task<HaproxyProcess> StartAsync(int backendPort, string sendProxy)
    {
        string binary = FindBinary() ?? throw new InvalidOperationException("haproxy is not installed (test.sh installs the Debian package)");
        string directory = Path.Combine(Path.GetTempPath(), "gateway-haproxy-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        int port = ServerProcess.FreePort();
        string config = Path.Combine(directory, "haproxy.cfg");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $"""
            global
                maxconn 256

            defaults
                mode tcp
                timeout connect 5s
                timeout client 120s
                timeout server 120s

            frontend public
                bind 127.0.0.1:{port}
                default_backend gateway

            backend gateway
                server gw 127.0.0.1:{backendPort} {sendProxy}

            """)); // HAProxy refuses a last line without LF

        var psi = new ProcessStartInfo(binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        // -db: stay in the foreground (no daemon, no master-worker), so the pid we hold is the proxy.
        foreach (string arg in new[] { "-f", config, "-db" })
        {
            psi.ArgumentList.Add(arg);
        }

        Process process = Process.Start(psi) ?? throw new InvalidOperationException("haproxy did not start");
        var haproxy = new HaproxyProcess(process, directory, port);
        process.OutputDataReceived += (_, e) => haproxy.Record(e.Data);
        process.ErrorDataReceived += (_, e) => haproxy.Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await haproxy.WaitListeningAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            haproxy.Dispose();
            throw;
        }

        return haproxy;
    }

    /// <summary>What HAProxy printed (warnings, errors), for failure messages.</summary>
    public string Output => string.Join("\n", _output);

    private void Record(string? line)
    {
        if (line is not null && _output.Count < 200)
        {
            _output.Enqueue(line);
        }
    }

    private static string? FindBinary()
    {
        IEnumerable<string> directories = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/usr/local/sbin", "/sbin"]);
        return directories.Select(d => Path.Combine(d, "haproxy")).FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// Until the frontend is bound. A probe is a client connection HAProxy relays (with its header) and that closes at
    /// once: the backend sees a header and the end of the stream, nothing else.
    /// </summary>
    private async Task WaitListeningAsync(TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"haproxy exited with code {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (watch.Elapsed < limit)
            {
                await Task.Delay(50);
            }
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
