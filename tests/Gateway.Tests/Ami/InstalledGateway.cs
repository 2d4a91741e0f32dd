using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Gateway.Tests.EndToEnd;

namespace Gateway.Tests.Ami;

/// <summary>
/// The installed gateway started as systemd would start the unit: its <c>ExecStart</c> line, <c>WorkingDirectory</c>,
/// <c>Environment</c> and <c>EnvironmentFile</c> values, from the staging root, with a <c>NOTIFY_SOCKET</c> the test
/// binds (a unix datagram socket, as systemd's). Differences from systemd, on purpose: the ports are free loopback
/// ports (environment overrides of the installed 3000/3001/3002 on 0.0.0.0), PROXY protocol is off (no NLB in front),
/// and it runs as the test's user, without the sandbox (no systemd as PID 1 here).
/// </summary>
public sealed class InstalledGateway : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Socket _notify;
    private readonly string _notifyDir;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();

    private InstalledGateway(Process process, Socket notify, string notifyDir, int port, int adminPort, int healthPort)
    {
        _process = process;
        _notify = notify;
        _notifyDir = notifyDir;
        Port = port;
        AdminPort = adminPort;
        HealthPort = healthPort;
    }

    public int Port { get; }

    public int AdminPort { get; }

    public int HealthPort { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public string AdminUrl => $"http://127.0.0.1:{AdminPort}";

    public string HealthUrl => $"http://127.0.0.1:{HealthPort}";

    /// <summary>Lines the gateway wrote to stdout (the journal, under systemd).</summary>
    public IReadOnlyCollection<string> StdoutLines => _stdout;

    public string RecentOutput => string.Join("\n", _stdout.TakeLast(40)) + "\nstderr:\n" + string.Join("\n", _stderr.TakeLast(40));

    public bool HasExited => _process.HasExited;

    /// <summary>Starts the installed unit's command; does not wait for readiness (see <see cref="ReceiveNotificationAsync"/>).</summary>
    public static InstalledGateway Start(Installation installation, params string[] extraEnvironment)
    {
        UnitFile unit = installation.Unit;
        string[] execStart = unit.Get("Service.ExecStart")!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var psi = new ProcessStartInfo(installation.PathOf(execStart[0]))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = installation.PathOf(unit.Get("Service.WorkingDirectory")!),
        };
        foreach (string argument in execStart.Skip(1))
        {
            psi.ArgumentList.Add(argument);
        }

        foreach ((string key, string value) in UnitFile.Assignments(unit.All("Service.Environment")))
        {
            psi.Environment[key] = value;
        }

        foreach (string file in unit.All("Service.EnvironmentFile"))
        {
            string path = installation.PathOf(file.TrimStart('-'));
            if (File.Exists(path))
            {
                foreach ((string key, string value) in UnitFile.Assignments(File.ReadAllLines(path)))
                {
                    psi.Environment[key] = value;
                }
            }
        }

        int port = ServerProcess.FreePort(), adminPort = ServerProcess.FreePort(), healthPort = ServerProcess.FreePort();
        psi.Environment["Gateway__Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment["Gateway__AdminPort"] = adminPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment["Gateway__HealthPort"] = healthPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment["Gateway__BindAddress"] = "127.0.0.1";
        psi.Environment["Gateway__ProxyProtocol"] = "false";
        foreach ((string key, string value) in UnitFile.Assignments(extraEnvironment))
        {
            psi.Environment[key] = value;
        }

        string notifyDir = Directory.CreateTempSubdirectory("gateway-notify-").FullName;
        string notifyPath = Path.Combine(notifyDir, "notify");
        var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        psi.Environment["NOTIFY_SOCKET"] = notifyPath;

        var process = new Process { StartInfo = psi };
        var gateway = new InstalledGateway(process, notify, notifyDir, port, adminPort, healthPort);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) gateway._stdout.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) gateway._stderr.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return gateway;
    }

    /// <summary>
    /// The next sd_notify datagram (<c>READY=1</c>, <c>STOPPING=1</c>, …), within 30 s; fails with the gateway's
    /// output when none comes.
    /// </summary>
    public async Task<string> ReceiveNotificationAsync()
    {
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            int n = await _notify.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
            return Encoding.UTF8.GetString(buffer, 0, n);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no notification on NOTIFY_SOCKET within 30 s (exited: {_process.HasExited}). Output:\n{RecentOutput}");
        }
    }

    /// <summary>SIGTERM, as <c>systemctl stop</c> sends it (<c>KillSignal=SIGTERM</c>).</summary>
    public async Task TerminateAsync()
    {
        CommandResult kill = await CommandLine.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(kill.ExitCode == 0, kill.Describe());
    }

    /// <summary>The exit code, within 30 s.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _notify.Dispose();
        Directory.Delete(_notifyDir, recursive: true);
    }
}
