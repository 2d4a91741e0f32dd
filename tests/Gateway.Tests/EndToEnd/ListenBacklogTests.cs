using System.Diagnostics;
using System.Globalization;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// The public port listens with a queue as deep as the kernel allows (net.core.somaxconn, 65535 on the image), not
/// Kestrel's 512: a show-start surge waits there while the accept loop catches up instead of having its SYNs dropped.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ListenBacklogTests
{
    [Fact]
    public async Task PublicPort_ListensWithTheKernelsDeepestQueue()
    {
        int somaxconn = int.Parse(File.ReadAllText("/proc/sys/net/core/somaxconn").Trim(), CultureInfo.InvariantCulture);
        using ServerProcess server = await ServerProcess.StartAsync(ServerKind.Gateway, ServerProfile.Default);

        // For a listening socket, ss reports the accept queue's limit as Send-Q (the kernel's sk_max_ack_backlog).
        var ss = Process.Start(new ProcessStartInfo("ss", ["-Hltn", $"sport = :{server.Port}"]) { RedirectStandardOutput = true })!;
        string listing = await ss.StandardOutput.ReadToEndAsync();
        await ss.WaitForExitAsync();
        string[] fields = listing.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(fields.Length >= 3, $"ss listed: {listing}");
        Assert.Equal(Math.Min(65535, somaxconn), int.Parse(fields[2], CultureInfo.InvariantCulture));
    }
}
