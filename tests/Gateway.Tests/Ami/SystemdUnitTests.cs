using System.Globalization;
using System.Text.RegularExpressions;
using Gateway.Hosting;

namespace Gateway.Tests.Ami;

/// <summary>
/// The unit, checked by systemd's own tools (Debian's systemd: <c>systemd-analyze verify</c> and
/// <c>security --offline</c>). It is not started under systemd here: this sandbox has no systemd as PID 1
/// (<c>/run/systemd/system</c> is absent, so neither <c>systemd-run</c> nor a <c>systemd-nspawn</c> boot is possible);
/// <see cref="AmiInstallTests"/> runs its ExecStart with a NOTIFY_SOCKET instead.
/// </summary>
public sealed class SystemdUnitTests
{
    /// <summary>Sockets an instance is planned for (ami/CAPACITY.md).</summary>
    private const int PlannedSocketsPerInstance = 250_000;

    /// <summary>Issue 10's drain defaults (Gateway:Drain:Delay + Window), milliseconds.</summary>
    private const int DrainDelayPlusWindowMs = 5_000 + 30_000;

    private static string UnitPath => Path.Combine(Installation.AmiDir, "systemd", "gateway.service");

    private static UnitFile Unit => UnitFile.Parse(File.ReadAllText(UnitPath));

    [Fact]
    public void Unit_ReadinessRestartStopAndLimits_AsTheImageNeeds()
    {
        UnitFile unit = Unit;

        Assert.Equal("notify", unit.Get("Service.Type"));
        Assert.Equal("/opt/gateway/Gateway", unit.Get("Service.ExecStart"));
        // No runtime settings that override the csproj's (GC, PGO, tiering): the image runs what was measured.
        Assert.DoesNotContain(unit.All("Service.Environment"), e => e.StartsWith("DOTNET_", StringComparison.Ordinal) || e.StartsWith("COMPlus_", StringComparison.Ordinal));
        Assert.Equal("on-failure", unit.Get("Service.Restart"));
        Assert.Equal("2", unit.Get("Service.RestartPreventExitStatus"));
        Assert.Equal("SIGTERM", unit.Get("Service.KillSignal"));
        int stopSeconds = int.Parse(unit.Get("Service.TimeoutStopSec")!, CultureInfo.InvariantCulture);
        Assert.True(stopSeconds * 1000 >= DrainDelayPlusWindowMs + 20_000, $"TimeoutStopSec={stopSeconds} leaves no margin over the drain");
        // Room for the plan's sockets plus the descriptors the gateway keeps for itself, under the kernel's nr_open.
        int files = int.Parse(unit.Get("Service.LimitNOFILE")!, CultureInfo.InvariantCulture);
        Assert.InRange(files, PlannedSocketsPerInstance + PublicListener.DescriptorReserve, 1_048_576);
        string sysctl = File.ReadAllText(Path.Combine(Installation.AmiDir, "sysctl", "90-gateway.conf"));
        Assert.True(files <= int.Parse(Regex.Match(sysctl, @"(?m)^fs\.nr_open = (\d+)").Groups[1].Value, CultureInfo.InvariantCulture));

        Assert.Equal("true", unit.Get("Service.NoNewPrivileges"));
        Assert.Equal("strict", unit.Get("Service.ProtectSystem"));
        Assert.Equal("true", unit.Get("Service.ProtectHome"));
        Assert.Equal("true", unit.Get("Service.PrivateTmp"));
        Assert.Equal("", unit.Get("Service.CapabilityBoundingSet"));

        // The fan-out's nice value is allowed by RLIMIT_NICE, not by a capability.
        string appsettings = File.ReadAllText(Path.Combine(Installation.AmiDir, "config", "appsettings.json"));
        int fanOutNice = int.Parse(Regex.Match(appsettings, "\"FanOutNice\": (-?\\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(fanOutNice, int.Parse(unit.Get("Service.LimitNICE")!, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Sysctl_GatewayPortsReservedAndEveryValueExplained()
    {
        string[] lines = File.ReadAllLines(Path.Combine(Installation.AmiDir, "sysctl", "90-gateway.conf"));
        string reserved = lines.Single(l => l.StartsWith("net.ipv4.ip_local_reserved_ports", StringComparison.Ordinal));
        string appsettings = File.ReadAllText(Path.Combine(Installation.AmiDir, "config", "appsettings.json"));
        foreach (string key in new[] { "Port", "AdminPort", "HealthPort" })
        {
            int port = int.Parse(Regex.Match(appsettings, $"\"{key}\": (\\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
            Match range = Regex.Match(reserved, @"(\d+)-(\d+)");
            Assert.InRange(port, int.Parse(range.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(range.Groups[2].Value, CultureInfo.InvariantCulture));
        }

        Assert.DoesNotContain(lines, l => l.StartsWith("net.ipv4.ip_local_port_range", StringComparison.Ordinal) && l.Contains(" 1024 ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.TrimStart('-').StartsWith("net.netfilter.nf_conntrack_max", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("net.ipv4.tcp_mem", StringComparison.Ordinal));
        // The gateway's listen() asks for the queue somaxconn allows: one without the other caps the surge's queue.
        string somaxconn = lines.Single(l => l.StartsWith("net.core.somaxconn", StringComparison.Ordinal));
        Assert.Equal(GatewayApp.ListenBacklog, int.Parse(somaxconn.Split('=')[1].Trim(), CultureInfo.InvariantCulture));
        // Every setting has its reason right above it (a comment block, possibly shared with the settings before).
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length > 0 && lines[i][0] != '#')
            {
                int j = i - 1;
                while (j >= 0 && lines[j].Length > 0 && lines[j][0] != '#')
                {
                    j--;
                }

                Assert.True(j >= 0 && lines[j].StartsWith('#'), $"'{lines[i]}' has no comment saying why");
            }
        }
    }

    [Fact]
    public async Task Verify_InstalledUnit_NoErrorOrWarning()
    {
        using Installation installation = await StagedWithSystemdUnitsAsync();
        string analyze = CommandLine.Require("systemd-analyze", "systemd");

        CommandResult verify = await CommandLine.RunAsync(analyze, ["verify", $"--root={installation.Root}", "gateway.service"]);

        Assert.True(verify.ExitCode == 0 && verify.Stderr.Trim().Length == 0, verify.Describe());

        // The check can fail: a misspelt key and a missing binary are both reported.
        File.AppendAllText(installation.PathOf("/etc/systemd/system/gateway.service"), "\n[Service]\nRestartSecs=2\n");
        File.Move(installation.PathOf("/opt/gateway/Gateway"), installation.PathOf("/opt/gateway/Gateway.moved"));
        CommandResult broken = await CommandLine.RunAsync(analyze, ["verify", $"--root={installation.Root}", "gateway.service"]);
        Assert.Contains("Unknown key", broken.Stderr, StringComparison.Ordinal);
        Assert.Contains("/opt/gateway/Gateway is not executable", broken.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, broken.ExitCode);
    }

    [Fact]
    public async Task Security_Unit_ExposureAtMostTwo()
    {
        using Installation installation = await StagedWithSystemdUnitsAsync();
        string analyze = CommandLine.Require("systemd-analyze", "systemd");

        CommandResult security = await CommandLine.RunAsync(analyze, ["security", "--offline=true", $"--root={installation.Root}", "--no-pager", "gateway.service"]);

        Match score = Regex.Match(security.Stdout + security.Stderr, @"Overall exposure level for gateway\.service: (\d+\.\d+)");
        Assert.True(score.Success, security.Describe());
        // 0 = fully sandboxed, 10 = nothing; systemd calls below 2 "OK". ami/README.md records the score.
        Assert.InRange(double.Parse(score.Groups[1].Value, CultureInfo.InvariantCulture), 0.0, 2.0);
    }

    /// <summary>An installation whose root also holds the system's unit files, which the gateway's unit names
    /// (network-online.target, multi-user.target …), as the image does.</summary>
    private static async Task<Installation> StagedWithSystemdUnitsAsync()
    {
        Installation installation = await Installation.CreateAsync();
        string system = Directory.Exists("/usr/lib/systemd/system") ? "/usr/lib/systemd/system" : "/lib/systemd/system";
        Assert.True(Directory.Exists(system), "Debian's systemd package installs the system's units (test.sh installs it)");
        string target = installation.PathOf("/usr/lib/systemd");
        Directory.CreateDirectory(target);
        CommandResult copy = await CommandLine.RunAsync("cp", ["-a", system, target]);
        Assert.True(copy.ExitCode == 0, copy.Describe());
        return installation;
    }
}
