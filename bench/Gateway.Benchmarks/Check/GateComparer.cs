namespace Gateway.Benchmarks.Check;

public enum Verdict
{
    Pass,
    /// <summary>Faster or leaner than the baseline beyond the tolerance: fine, and a reason to <c>--update</c>.</summary>
    Improved,
    /// <summary>In this run, not in the baseline: passes; <c>--update</c> records it.</summary>
    New,
    AllocationRegression,
    TimeRegression,
    /// <summary>In the baseline, not in this run (deleted, renamed, or failed): fails until the baseline is updated.</summary>
    Missing,
}

/// <summary>One line of the gate's table.</summary>
public sealed record GateRow(
    string Key,
    BaselineEntry? Baseline,
    double? NowNs,
    double? NowRatio,
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
    /// <summary>Each case's time as a ratio to its class's baseline case (same parameters) in the same run.</summary>
    public static IReadOnlyDictionary<string, double> Ratios(IReadOnlyList<BenchResult> results)
    {
        var baselines = results.Where(r => r.IsBaseline).ToDictionary(r => r.GroupKey, r => r.Ns, StringComparer.Ordinal);
        var ratios = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (BenchResult r in results)
        {
            if (!baselines.TryGetValue(r.GroupKey, out double baseline))
            {
                throw new InvalidOperationException($"{r.Key}: its class has no Baseline = true case for these parameters");
            }

            ratios[r.Key] = baseline > 0 ? r.Ns / baseline : 1.0;
        }

        return ratios;
    }

    public static IReadOnlyList<GateRow> Compare(IReadOnlyList<BenchResult> results, BaselineFile baseline, GateOptions options)
    {
        IReadOnlyDictionary<string, double> ratios = Ratios(results);
        var groupBaseline = results.Where(r => r.IsBaseline).ToDictionary(r => r.GroupKey, r => r.Ns, StringComparer.Ordinal);
        var committed = baseline.Benchmarks.ToDictionary(b => b.Key, StringComparer.Ordinal);
        var rows = new List<GateRow>();
        foreach (BenchResult r in results)
        {
            double ratio = ratios[r.Key];
            bool fast = r.Ns < options.FastThresholdNs || groupBaseline[r.GroupKey] < options.FastThresholdNs;
            double tolerance = r.Tolerance ?? (fast ? options.FastTolerance : options.Tolerance);
            if (!committed.TryGetValue(r.Key, out BaselineEntry? b))
            {
                rows.Add(new GateRow(r.Key, null, r.Ns, ratio, r.AllocatedBytes, tolerance, Verdict.New, "not in the baseline", r.DiagnoserBytes));
                continue;
            }

            Verdict verdict;
            string note;
            if (r.AllocatedBytes > b.AllocatedBytes)
            {
                verdict = Verdict.AllocationRegression;
                note = $"+{r.AllocatedBytes - b.AllocatedBytes} B/op";
            }
            else if (!r.IsBaseline && ratio > b.Ratio * (1 + tolerance) && r.Ns >= options.FastThresholdNs)
            {
                verdict = Verdict.TimeRegression;
                note = $"ratio {ratio:0.###} > {b.Ratio:0.###} x {1 + tolerance:0.##}";
            }
            else if (r.AllocatedBytes < b.AllocatedBytes)
            {
                verdict = Verdict.Improved;
                note = $"-{b.AllocatedBytes - r.AllocatedBytes} B/op";
            }
            else if (!r.IsBaseline && ratio * (1 + tolerance) < b.Ratio)
            {
                verdict = Verdict.Improved;
                note = $"ratio {ratio:0.###} < {b.Ratio:0.###} / {1 + tolerance:0.##}";
            }
            else
            {
                verdict = Verdict.Pass;
                note = "";
            }

            rows.Add(new GateRow(r.Key, b, r.Ns, ratio, r.AllocatedBytes, tolerance, verdict, note, r.DiagnoserBytes));
        }

        var seen = results.Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
        foreach (BaselineEntry b in baseline.Benchmarks.Where(b => !seen.Contains(b.Key)))
        {
            rows.Add(new GateRow(b.Key, b, null, null, null, options.Tolerance, Verdict.Missing, "not in this run"));
        }

        return rows;
    }

    /// <summary>The baseline a run would commit with <c>--update</c>.</summary>
    public static BaselineFile ToBaseline(IReadOnlyList<BenchResult> results, string machine, string date)
    {
        IReadOnlyDictionary<string, double> ratios = Ratios(results);
        return new BaselineFile(machine, date, results
            .Select(r => new BaselineEntry(r.Key, Math.Round(r.Ns, 3), Math.Round(ratios[r.Key], 4), r.AllocatedBytes, r.IsBaseline))
            .OrderBy(b => b.Key, StringComparer.Ordinal)
            .ToList());
    }
}
