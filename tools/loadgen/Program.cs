using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Gateway.LoadGen;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Run socket continuations on the epoll thread instead of hopping to the thread pool: a broadcast wakes every
        // socket at once, and the hop was most of the cost per message. Read once, before the first socket exists.
        if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
        {
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        }

        Options o;
        try
        {
            o = Options.Parse(args);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException)
        {
            await Console.Error.WriteLineAsync($"loadgen: {e.Message}\n\n{Options.Usage}").ConfigureAwait(false);
            return 2;
        }

        try
        {
            if (o.Verb == "merge")
            {
                return Merge(o);
            }

            if (o.Verb is not ("connect" or "broadcast" or "answers" or "storm" or "capacity" or "flood"))
            {
                throw new ArgumentException($"unknown verb {o.Verb} (connect, broadcast, answers, storm, capacity, flood, merge)");
            }

            LocalRun.ResolveTarget(o); // loopback guard before anything connects
            if (o.Verb == "flood")
            {
                return await Flood.RunAsync(o).ConfigureAwait(false);
            }
            if (o.Redis is not null)
            {
                PromptPublisher.ParseRedis(o.Redis); // a bad configuration string is a usage error
            }

            if (!o.AllowRemote && o.Verb is "broadcast" or "answers" or "storm" or "capacity" && !o.NoPublish)
            {
                if (o.Redis is not null)
                {
                    PromptPublisher.CheckLoopback(o.Redis);
                }
                else
                {
                    var probe = new Options { Url = o.EffectivePublishUrl };
                    LocalRun.ResolveTarget(probe);
                }
            }

            return o.ChildMode ? await RunChildAsync(o).ConfigureAwait(false) : await RunAsync(o, args).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync("loadgen: " + e.Message).ConfigureAwait(false);
            return 2;
        }
    }

    private static int Merge(Options o)
    {
        if (o.MergeInputs.Count == 0)
        {
            throw new ArgumentException("merge needs report files");
        }

        Report merged = Report.MergeAll(o.MergeInputs.Select(f => Report.FromJson(File.ReadAllText(f))));
        return Finish(o, merged);
    }

    /// <summary>A worker: runs its id range and answers the parent's commands on stdin.</summary>
    private static async Task<int> RunChildAsync(Options o)
    {
        var run = new LocalRun(o, o.FirstId, o.Count);
        run.Start();
        using var cts = new CancellationTokenSource();
        Task status = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            while (await timer.WaitForNextTickAsync(cts.Token).ConfigureAwait(false))
            {
                Console.Out.WriteLine("status " + JsonSerializer.Serialize(run.Status(), Report.CompactJsonOptions));
                Console.Out.Flush();
            }
        });
        while (await Console.In.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            string[] w = line.Split(' ');
            if (w[0] == "stop")
            {
                break;
            }

            if (w[0] == "prompt")
            {
                run.ExpectPrompt(int.Parse(w[1], CultureInfo.InvariantCulture), long.Parse(w[2], CultureInfo.InvariantCulture));
            }
            else if (w[0] == "drop")
            {
                run.Drop(double.Parse(w[1], CultureInfo.InvariantCulture));
            }
            else if (w[0] == "storm")
            {
                run.SetStormResult(long.Parse(w[1], CultureInfo.InvariantCulture), double.Parse(w[2], CultureInfo.InvariantCulture));
            }
        }

        await cts.CancelAsync().ConfigureAwait(false);
        Report report = await run.StopAsync().ConfigureAwait(false);
        await File.WriteAllTextAsync(o.ReportPath!, report.ToJson()).ConfigureAwait(false);
        return 0;
    }

    private static (int First, int Count) Split(int first, int count, int index, int parts)
    {
        int size = count / parts;
        int extra = count % parts;
        return (first + index * size + Math.Min(index, extra), size + (index < extra ? 1 : 0));
    }

    private static async Task<int> RunAsync(Options o, string[] args)
    {
        if (o.Verb == "capacity")
        {
            return await CapacityAsync(o, args).ConfigureAwait(false);
        }

        return Finish(o, await RunOnceAsync(o, args).ConfigureAwait(false));
    }

    // capacity: a broadcast run per level, each a fresh set of sockets, until one breaks the SLO.
    private static async Task<int> CapacityAsync(Options o, string[] args)
    {
        if (o.Slos.Count == 0)
        {
            throw new ArgumentException("capacity needs --slo (for example --slo p99=250ms,errors=0.01)");
        }

        int[] levels = o.Levels.Length > 0 ? o.Levels : [o.Connections / 4, o.Connections / 2, o.Connections * 3 / 4, o.Connections];
        var capacity = new CapacityReport();
        Report? held = null, last = null;
        foreach (int level in levels.Where(l => l > 0))
        {
            var levelArgs = new List<string> { "broadcast" };
            for (int i = 1; i < args.Length; i++)
            {
                if (args[i] is "--connections" or "-c" or "--levels" or "--report" or "--html")
                {
                    i++;
                    continue;
                }

                levelArgs.Add(args[i]);
            }

            levelArgs.AddRange(["--connections", level.ToString(CultureInfo.InvariantCulture)]);
            Options lo = Options.Parse([.. levelArgs]);
            Report r = await RunOnceAsync(lo, [.. levelArgs]).ConfigureAwait(false);
            EvaluateSlos(lo, r);
            Histogram latency = Histogram.FromData(r.Latency);
            var step = new CapacityStep
            {
                Connections = level,
                Connected = r.PeakConnected,
                P99Ms = latency.ValueAt(99) / 1000.0,
                MaxMs = latency.Max / 1000.0,
                Errors = r.Errors.Values.Sum(),
                Missing = r.Prompts.Sum(p => p.Missing),
                GeneratorCpuPercent = r.Process.CpuPercent,
                Held = r.Slo.All(s => s.Passed) && r.PeakConnected >= level,
                Slo = r.Slo,
            };
            capacity.Steps.Add(step);
            await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"capacity: {level:N0} sockets -> p99 {step.P99Ms:0.0} ms, errors {step.Errors:N0}, missing {step.Missing:N0}: {(step.Held ? "held" : "BROKEN")}")).ConfigureAwait(false);
            last = r;
            if (!step.Held)
            {
                break;
            }

            held = r;
            capacity.HighestHeld = level;
            await Task.Delay(2000).ConfigureAwait(false); // let the server let go of the last level's sessions
        }

        Report final = held ?? last ?? new Report();
        final.Scenario = "capacity";
        final.Slo.Clear();
        final.Capacity = capacity;
        return Finish(o, final);
    }

    private static async Task<Report> RunOnceAsync(Options o, string[] args)
    {
        // Connected before the first socket, so an unreachable --redis stops the run before the ramp.
        await using PromptPublisher? publisher = o.Verb is "broadcast" or "answers" or "capacity" or "storm" && !o.NoPublish && o.ShardIndex == 0
            ? await PromptPublisher.CreateAsync(o).ConfigureAwait(false)
            : null;
        (int shardFirst, int shardCount) = Split(0, o.Connections, o.ShardIndex, o.ShardCount);
        if (!o.ChildMode)
        {
            // More sockets than one process may open (this machine: 20,000 files a process) would kill it: split.
            int fit = Gateway.Hosting.OpenFiles.SocketsThatFit(reserve: 256);
            int needed = (shardCount + fit - 1) / fit;
            if (needed > o.Workers)
            {
                Console.Error.WriteLine($"loadgen: {shardCount:N0} sockets exceed what {o.Workers} process(es) may open ({fit:N0} each here): running {needed} worker processes");
                o.Workers = needed;
            }
        }

        var parts = new List<IRunPart>();
        if (o.Workers <= 1)
        {
            parts.Add(new LocalPart(new LocalRun(o, shardFirst, shardCount)));
        }
        else
        {
            string[] passOn = StripParentOnly(args);
            for (int w = 0; w < o.Workers; w++)
            {
                (int first, int count) = Split(shardFirst, shardCount, w, o.Workers);
                string path = Path.Combine(Path.GetTempPath(), $"loadgen-{Environment.ProcessId}-{w}.json");
                parts.Add(new ChildPart([.. passOn, "--child", "--id-range", $"{first}:{count}", "--report", path], path));
            }
        }

        foreach (IRunPart p in parts)
        {
            p.Start();
        }

        var clock = Stopwatch.StartNew();
        using var liveCts = new CancellationTokenSource();
        Task live = o.Quiet ? Task.CompletedTask : Task.Run(() => LiveAsync(parts, shardCount, clock, liveCts.Token));
        var publishErrors = new Dictionary<string, long>();
        var bursts = new List<BurstReport>();
        try
        {
            await WaitReadyAsync(o, parts, shardCount).ConfigureAwait(false);
            switch (o.Verb)
            {
                case "connect":
                    await Task.Delay(o.Duration).ConfigureAwait(false);
                    break;
                case "broadcast":
                case "answers":
                case "capacity":
                    await BroadcastAsync(o, parts, publisher, publishErrors, bursts).ConfigureAwait(false);
                    break;
                case "storm":
                    await StormAsync(o, parts, publisher, publishErrors).ConfigureAwait(false);
                    break;
            }
        }
        finally
        {
            await liveCts.CancelAsync().ConfigureAwait(false);
        }

        await live.ConfigureAwait(false);
        Report[] reports = await Task.WhenAll(parts.Select(p => p.StopAsync())).ConfigureAwait(false);
        Report merged = Report.MergeAll(reports);
        merged.Bursts = bursts;
        foreach ((string k, long v) in publishErrors)
        {
            merged.Errors[k] = merged.Errors.GetValueOrDefault(k) + v;
        }

        return merged;
    }

    private static string[] StripParentOnly(string[] args)
    {
        var list = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is "--workers" or "--report" or "--html" or "--slo")
            {
                i++;
                continue;
            }

            list.Add(args[i]);
        }

        list.Add("--quiet");
        return [.. list];
    }

    private static Status Sum(List<IRunPart> parts)
    {
        var s = new Status { RampDone = true };
        double offsetWeighted = 0;
        foreach (IRunPart p in parts)
        {
            Status x = p.Status;
            s.Connected += x.Connected;
            s.Connecting += x.Connecting;
            s.Connects += x.Connects;
            s.Errors += x.Errors;
            s.Messages += x.Messages;
            s.Target += x.Target;
            s.RampDone &= x.RampDone;
            s.ClockSamples += x.ClockSamples;
            offsetWeighted += x.ClockOffsetMs * x.ClockSamples;
            s.P50Us = Math.Max(s.P50Us, x.P50Us);
            s.P99Us = Math.Max(s.P99Us, x.P99Us);
            s.Received += x.Received;
            s.Recovered += x.Recovered;
            s.AnswersAcked += x.AnswersAcked;
        }

        s.ClockOffsetMs = s.ClockSamples == 0 ? 0 : offsetWeighted / s.ClockSamples;
        return s;
    }

    private static async Task LiveAsync(List<IRunPart> parts, int total, Stopwatch clock, CancellationToken ct)
    {
        long lastConnects = 0, lastMessages = 0;
        TimeSpan lastCpu = Process.GetCurrentProcess().TotalProcessorTime;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                Status s = Sum(parts);
                TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
                string lat = s.P99Us == 0 ? "p50 -  p99 -" : $"p50 {Ms(s.P50Us)}  p99 {Ms(s.P99Us)}";
                string cpuText = parts.Count == 1 ? $"  cpu {(cpu - lastCpu).TotalSeconds * 100:0}%  rss {Environment.WorkingSet / 1048576} MiB" : "";
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{clock.Elapsed.TotalSeconds,5:0}s] connected {s.Connected:N0}/{total:N0}  connecting {s.Connecting:N0}  rate {s.Connects - lastConnects:N0}/s  errors {s.Errors:N0}  msgs {s.Messages - lastMessages:N0}/s  {lat}{cpuText}"));
                (lastConnects, lastMessages, lastCpu) = (s.Connects, s.Messages, cpu);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static string Ms(long us) => (us / 1000.0).ToString(us >= 10_000 ? "0" : "0.0", CultureInfo.InvariantCulture) + "ms";

    private static async Task WaitReadyAsync(Options o, List<IRunPart> parts, int total)
    {
        // Everyone connected, or the ramp's own length plus --ready-timeout.
        TimeSpan limit = o.ReadyTimeout + TimeSpan.FromSeconds(o.Ramp == "linear" ? total / Math.Max(1, o.Rate) : 10);
        var clock = Stopwatch.StartNew();
        await Task.Delay(200).ConfigureAwait(false);
        while (clock.Elapsed < limit)
        {
            Status s = Sum(parts);
            if (s.RampDone && s.Connected >= total && (o.Verb is not ("broadcast" or "answers") || s.ClockSamples >= s.Connected))
            {
                return;
            }

            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    private static async Task BroadcastAsync(Options o, List<IRunPart> parts, PromptPublisher? publisher, Dictionary<string, long> errors, List<BurstReport> bursts)
    {
        string padding = new('x', Math.Max(0, o.PayloadBytes - 60));
        await Task.Delay(o.Hold).ConfigureAwait(false);
        for (int k = 1; k <= o.Prompts; k++)
        {
            // sentAt is put on the server's clock, as every client corrects its own reading to it.
            long sentAt = (long)Math.Round(VirtualClient.NowUnixMs() + Sum(parts).ClockOffsetMs);
            foreach (IRunPart p in parts)
            {
                p.ExpectPrompt(k, sentAt);
            }

            if (publisher is not null)
            {
                await Task.Delay(20).ConfigureAwait(false); // let workers snapshot who is connected
                await PublishAsync(publisher, parts, k, padding, errors).ConfigureAwait(false);
            }

            if (k < o.Prompts)
            {
                await Task.Delay(o.Interval).ConfigureAwait(false);
            }
        }

        // Grace: stop early once every expected delivery has arrived.
        var clock = Stopwatch.StartNew();
        long expected = Sum(parts).Connected * o.Prompts;
        while (clock.Elapsed < o.Grace + (o.Verb == "answers" ? o.ThinkMax : TimeSpan.Zero) &&
            (Sum(parts).Received < expected || (o.Verb == "answers" && Sum(parts).AnswersAcked < expected)))
        {
            await Task.Delay(100).ConfigureAwait(false);
        }

        for (int round = 0; o.Burst > 0 && round < o.Bursts; round++)
        {
            if (round > 0)
            {
                await Task.Delay(o.BurstPause).ConfigureAwait(false);
            }

            bursts.Add(await BurstAsync(o, parts, publisher, padding, errors, round).ConfigureAwait(false));
        }

        await Task.Delay(1100).ConfigureAwait(false); // one more status line from the workers
    }

    // Burst: every burst prompt carries the burst's start as sentAt, so each one's "last" is the time from the
    // first publish until every socket had it, and the burst rate is count / max(last).
    private static async Task<BurstReport> BurstAsync(Options o, List<IRunPart> parts, PromptPublisher? publisher, string padding, Dictionary<string, long> errors, int round)
    {
        int first = o.Prompts + round * o.Burst + 1, last = o.Prompts + (round + 1) * o.Burst;
        var burst = new BurstReport { Round = round + 1, FirstIndex = first, LastIndex = last };
        long planned = (long)Math.Round(VirtualClient.NowUnixMs() + Sum(parts).ClockOffsetMs);
        for (int k = first; k <= last; k++)
        {
            foreach (IRunPart p in parts)
            {
                p.ExpectPrompt(k, planned);
            }
        }

        if (publisher is not null)
        {
            await Task.Delay(20).ConfigureAwait(false); // let workers snapshot who is connected
            long start = (long)Math.Round(VirtualClient.NowUnixMs() + Sum(parts).ClockOffsetMs);
            burst.StartMs = start;
            var all = Stopwatch.StartNew();
            burst.PublishEachMs = await publisher.PublishManyAsync([.. Enumerable.Range(first, last - first + 1)], start, padding, errors).ConfigureAwait(false);
            burst.PublishMs = Math.Round(all.Elapsed.TotalMilliseconds, 2);
        }

        var clock = Stopwatch.StartNew();
        long expected = Sum(parts).Connected * last;
        while (clock.Elapsed < o.Grace && Sum(parts).Received < expected)
        {
            await Task.Delay(100).ConfigureAwait(false);
        }

        return burst;
    }

    private static Task PublishAsync(PromptPublisher publisher, List<IRunPart> parts, int k, string padding, Dictionary<string, long> errors, long? sentAtOverride = null)
    {
        long sentAt = sentAtOverride ?? (long)Math.Round(VirtualClient.NowUnixMs() + Sum(parts).ClockOffsetMs);
        return publisher.PublishAsync(k, sentAt, padding, errors);
    }

    private static async Task StormAsync(Options o, List<IRunPart> parts, PromptPublisher? publisher, Dictionary<string, long> errors)
    {
        await Task.Delay(o.Duration).ConfigureAwait(false);
        int stormPrompts = publisher is null ? 0 : o.StormPrompts;
        if (publisher is not null)
        {
            // One event first, so that servers with connection-state recovery hand out offsets to recover from.
            foreach (IRunPart p in parts)
            {
                p.ExpectPrompt(1, 0);
            }

            await PublishAsync(publisher, parts, 1, "storm", errors).ConfigureAwait(false);
            await Task.Delay(1000).ConfigureAwait(false);

            // The prompts published during the storm are owed to every socket connected now: those back in time get
            // them live, the others replayed by their recovery.
            for (int k = 2; k <= 1 + stormPrompts; k++)
            {
                foreach (IRunPart p in parts)
                {
                    p.ExpectPrompt(k, 0);
                }
            }
        }

        long before = Sum(parts).Connected;
        var clock = Stopwatch.StartNew();
        if (o.RestartCommand is not null)
        {
            // The other storm: the target itself drops every socket (a restart, an admin disconnect) and they come back.
            foreach (IRunPart p in parts)
            {
                p.Drop(0);
            }

            await RunRestartCommandAsync(o.RestartCommand, errors).ConfigureAwait(false);
        }
        else
        {
            foreach (IRunPart p in parts)
            {
                p.Drop(o.StormFraction);
            }
        }

        Task publishing = stormPrompts == 0 ? Task.CompletedTask : PublishDuringStormAsync(o, parts, publisher!, stormPrompts, errors);
        await Task.Delay(1500).ConfigureAwait(false);
        double secs = -1;
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (Sum(parts).Connected >= before * 0.99)
            {
                secs = Math.Round(clock.Elapsed.TotalSeconds, 2);
                break;
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        foreach (IRunPart p in parts)
        {
            p.SetStormResult(Sum(parts).Connected, secs);
        }

        await publishing.ConfigureAwait(false);
        // Every socket that was connected owes each storm prompt once: wait for the stragglers' recovery, up to --grace.
        var grace = Stopwatch.StartNew();
        while (stormPrompts > 0 && grace.Elapsed < o.Grace && Sum(parts).Received < before * (1 + stormPrompts))
        {
            await Task.Delay(100).ConfigureAwait(false);
        }

        await Task.Delay(1100).ConfigureAwait(false);
    }

    private static async Task PublishDuringStormAsync(Options o, List<IRunPart> parts, PromptPublisher publisher, int count, Dictionary<string, long> errors)
    {
        for (int k = 2; k <= 1 + count; k++)
        {
            await PublishAsync(publisher, parts, k, "storm", errors).ConfigureAwait(false);
            if (k < 1 + count)
            {
                await Task.Delay(o.Interval).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs the operator's restart command (bash -c), bounded to 60 s; a failure is counted as an error.</summary>
    private static async Task RunRestartCommandAsync(string command, Dictionary<string, long> errors)
    {
        var psi = new ProcessStartInfo("bash") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        using Process process = Process.Start(psi) ?? throw new InvalidOperationException("could not start bash");
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                errors["restart-command-failed"] = errors.GetValueOrDefault("restart-command-failed") + 1;
            }
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            errors["restart-command-timeout"] = errors.GetValueOrDefault("restart-command-timeout") + 1;
        }
    }

    private static int Finish(Options o, Report r)
    {
        EvaluateSlos(o, r);
        Console.Out.Write(Summary.Render(r));
        if (o.ReportPath is not null)
        {
            File.WriteAllText(o.ReportPath, r.ToJson());
        }

        if (o.HtmlPath is not null)
        {
            File.WriteAllText(o.HtmlPath, HtmlReport.Render(r));
        }

        return r.Slo.All(s => s.Passed) ? 0 : 1;
    }

    public static void EvaluateSlos(Options o, Report r)
    {
        Histogram latency = Histogram.FromData(r.Latency);
        Histogram connect = Histogram.FromData(r.ConnectTime);
        long expected = r.Prompts.Sum(p => p.Expected);
        foreach ((string metric, double limit) in o.Slos)
        {
            double actual = metric switch
            {
                "p50" => latency.ValueAt(50) / 1000.0,
                "p90" => latency.ValueAt(90) / 1000.0,
                "p99" => latency.ValueAt(99) / 1000.0,
                "p999" or "p99.9" => latency.ValueAt(99.9) / 1000.0,
                "max" => latency.Max / 1000.0,
                "connect-p99" => connect.ValueAt(99) / 1000.0,
                "errors" => r.Connections == 0 ? 0 : r.Errors.Values.Sum() / (double)r.Connections,
                "missing" => expected == 0 ? 0 : r.Prompts.Sum(p => p.Missing) / (double)expected,
                _ => throw new ArgumentException($"unknown SLO metric {metric}"),
            };
            bool noData = metric.StartsWith('p') || metric == "max" ? latency.TotalCount == 0 : false;
            r.Slo.Add(new SloResult { Metric = metric, Limit = limit, Actual = Math.Round(actual, 3), Passed = !noData && actual <= limit });
        }
    }
}
