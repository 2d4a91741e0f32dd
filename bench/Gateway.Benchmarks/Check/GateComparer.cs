namespace Gateway.Benchmarks.Check;

public enum Verdict
{
    Pass,
    /// <summary>Faster or leaner than the baseline beyond the tolerance: fine, and a reason to <c>--update</c>.</summary>
    Improved,
    /// <summary>In this run, not in <c>bench/baseline.json</c>: passes; <c>--update</c> records it.</summary>
    New,
    /// <summary>Measured at the baseline commit only, and not in <c>bench/baseline.json</c>: reported.</summary>
    BaselineOnly,
    AllocationRegression,
    TimeRegression,
    /// <summary>In <c>bench/baseline.json</c>, not in this run (deleted, renamed, or failed): fails until the baseline is updated.</summary>
    Missing,
}

/// <summary>
/// One case's times at the baseline commit and now, from the same run. <see cref="PSlower"/> is the one-sided
/// Mann-Whitney p-value of "now is slower than the baseline plus the tolerance", <see cref="PFaster"/> the mirror.
/// </summary>
public sealed record TimeTest(double BaselineNs, double NowNs, int BaselineSamples, int NowSamples, double PSlower, double PFaster)
{
    public double Ratio => BaselineNs > 0 ? NowNs / BaselineNs : 1.0;
}

/// <summary>One line of the gate's table.</summary>
public sealed record GateRow(
    string Key,
    BaselineEntry? Committed,
    TimeTest? Time,
    double? NowNs,
    long? NowAllocatedBytes,
    double Tolerance,
    Verdict Verdict,
    string Note,
    long? DiagnoserBytes = null)
{
    public bool Failed => Verdict is Verdict.AllocationRegression or Verdict.TimeRegression or Verdict.Missing;
}

/// <summary>The gate's rules, free of I/O so that they can be unit-tested.</summary>
public static class GateComparer
{
    /// <summary>
    /// Compares two samples of one case's iteration times. As dotnet/performance's ResultsComparer does, the test is
    /// against the other side moved by the threshold, so a small p means "slower by more than the tolerance", not
    /// merely "different": a 5 % shift that is real but harmless is significant to a plain test with enough samples.
    /// </summary>
    public static TimeTest CompareTimes(IReadOnlyList<double> baseline, IReadOnlyList<double> now, double tolerance)
    {
        double baselineMedian = Statistics.Median(baseline);
        double nowMedian = Statistics.Median(now);
        double[] baselineRaised = baseline.Select(v => v + (tolerance * baselineMedian)).ToArray();
        double[] nowRaised = now.Select(v => v + (tolerance * nowMedian)).ToArray();
        return new TimeTest(baselineMedian, nowMedian, baseline.Count, now.Count,
            PSlower: MannWhitney.PGreater(baselineRaised, now),
            PFaster: MannWhitney.PGreater(nowRaised, baseline));
    }

    /// <summary>Slower beyond the tolerance: the median ratio and the test must both say so.</summary>
    public static bool IsSlower(TimeTest time, double tolerance, double alpha) => time.Ratio > 1 + tolerance && time.PSlower < alpha;

    public static bool IsFaster(TimeTest time, double tolerance, double alpha) => time.Ratio * (1 + tolerance) < 1 && time.PFaster < alpha;

    /// <param name="now">The current build's cases.</param>
    /// <param name="baselineRun">The baseline commit's build, measured in the same run; null when it could not be
    /// (the commit is not in a shallow clone): time is then not compared at all.</param>
    /// <param name="committed"><c>bench/baseline.json</c>: the allocations, and which cases must exist.</param>
    public static IReadOnlyList<GateRow> Compare(IReadOnlyList<BenchResult> now, IReadOnlyList<BenchResult>? baselineRun, BaselineFile committed, GateOptions options)
    {
        var entries = committed.Benchmarks.ToDictionary(b => b.Key, StringComparer.Ordinal);
        var measured = (baselineRun ?? []).ToDictionary(r => r.Key, StringComparer.Ordinal);
        var rows = new List<GateRow>();
        foreach (BenchResult r in now)
        {
            entries.TryGetValue(r.Key, out BaselineEntry? entry);
            measured.TryGetValue(r.Key, out BenchResult? before);
            bool fast = r.Ns < options.FastThresholdNs || before?.Ns < options.FastThresholdNs;
            double tolerance = r.Tolerance ?? (fast ? options.FastTolerance : options.Tolerance);
            TimeTest? time = before is null ? null : CompareTimes(before.Samples, r.Samples, tolerance);

            Verdict verdict;
            string note;
            if (entry is not null && r.AllocatedBytes > entry.AllocatedBytes)
            {
                verdict = Verdict.AllocationRegression;
                note = $"+{r.AllocatedBytes - entry.AllocatedBytes} B/op";
            }
            else if (time is not null && r.Ns >= options.FastThresholdNs && IsSlower(time, tolerance, options.Alpha))
            {
                verdict = Verdict.TimeRegression;
                note = $"median {time.Ratio:0.00}x the baseline commit's > {1 + tolerance:0.00}x, p = {GateReport.P(time.PSlower)} < {options.Alpha}";
            }
            else if (entry is null)
            {
                verdict = Verdict.New;
                note = "not in bench/baseline.json" + (time is null ? "" : $"; median {time.Ratio:0.00}x the baseline commit's");
            }
            else if (r.AllocatedBytes < entry.AllocatedBytes)
            {
                verdict = Verdict.Improved;
                note = $"-{entry.AllocatedBytes - r.AllocatedBytes} B/op";
            }
            else if (time is not null && IsFaster(time, tolerance, options.Alpha))
            {
                verdict = Verdict.Improved;
                note = $"median {time.Ratio:0.00}x the baseline commit's, p = {GateReport.P(time.PFaster)}";
            }
            else
            {
                verdict = Verdict.Pass;
                // A case the baseline commit did not have (or failed to run) is reported, never failed on time.
                note = time is null && baselineRun is not null ? "not in the baseline commit's run: time not compared" : "";
            }

            rows.Add(new GateRow(r.Key, entry, time, r.Ns, r.AllocatedBytes, tolerance, verdict, note, r.DiagnoserBytes));
        }

        var seen = now.Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
        foreach (BaselineEntry b in committed.Benchmarks.Where(b => !seen.Contains(b.Key)))
        {
            rows.Add(new GateRow(b.Key, b, null, null, null, options.Tolerance, Verdict.Missing, "not in this run"));
        }

        foreach (BenchResult b in (baselineRun ?? []).Where(b => !seen.Contains(b.Key) && !entries.ContainsKey(b.Key)))
        {
            rows.Add(new GateRow(b.Key, null, null, null, null, options.Tolerance, Verdict.BaselineOnly, "measured at the baseline commit only"));
        }

        return rows;
    }

    /// <summary>The baseline a run would commit with <c>--update</c>.</summary>
    public static BaselineFile ToBaseline(IReadOnlyList<BenchResult> results, string machine, string date, string? commit) =>
        new(machine, date, commit, results
            .Select(r => new BaselineEntry(r.Key, Math.Round(r.Ns, 3), r.AllocatedBytes))
            .OrderBy(b => b.Key, StringComparer.Ordinal)
            .ToList());
}
