namespace Gateway.Tests.EndToEnd;

/// <summary>
/// <c>Gateway:FanOutNice</c> sets the fan-out workers' own nice value (Linux schedules threads): the prompt's pass
/// can run ahead of the transport's threads (bench/flood). A positive value needs no privilege, so it is the one tested.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class FanOutNiceTests
{
    [Fact]
    public async Task FanOutNice_IsTheWorkersNiceValue_AndNoOtherThreads()
    {
        using ServerProcess server = await ServerProcess.StartAsync(ServerKind.Gateway, ServerProfile.Default, ["--Gateway:FanOutNice=7", "--Gateway:FanOutWorkers=2"]);

        // /proc/<pid>/task/<tid>/stat: "tid (comm) state …", nice is the 19th field; comm is cut at 15 characters.
        var threads = Directory.GetDirectories($"/proc/{server.Pid}/task")
            .Select(task => (Tid: Path.GetFileName(task), Comm: File.ReadAllText(Path.Combine(task, "comm")).Trim(), Stat: File.ReadAllText(Path.Combine(task, "stat"))))
            .Select(t => (t.Tid, t.Comm, Nice: int.Parse(t.Stat[(t.Stat.LastIndexOf(')') + 2)..].Split(' ')[16], System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();

        var workers = threads.Where(t => t.Comm.StartsWith("gateway-fanout", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, workers.Count);
        Assert.All(workers, w => Assert.Equal(7, w.Nice));
        // The other threads keep the process's own (whatever the test runner was started with).
        int processNice = threads.Single(t => t.Tid == server.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)).Nice;
        Assert.All(threads.Except(workers), t => Assert.Equal(processNice, t.Nice));
        Assert.DoesNotContain(server.Output, l => l.Contains("\"EventId\":11", StringComparison.Ordinal));
    }
}
