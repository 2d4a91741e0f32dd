using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Gateway.Benchmarks.Check;

/// <summary>The gate's table, as console text, Markdown and JSON.</summary>
public static class GateReport
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public static string Markdown(IReadOnlyList<GateRow> rows, GateOptions options, string title, bool timeCompared)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"### {title}\n\n");
        text.Append(timeCompared
            ? string.Create(CultureInfo.InvariantCulture,
                $"Time: the median iteration (ns/op) of the baseline commit's build and of the current code, measured in the same run, case by case, back to back; a case fails only when its median is more than {options.Tolerance:P0} above the baseline's ({options.FastTolerance:P0} under {options.FastThresholdNs} ns, never while under it) and a one-sided Mann-Whitney U test against the baseline's iterations raised by that tolerance gives p < {options.Alpha}. Allocation: exact, against bench/baseline.json.\n\n")
            : "**WARNING: time was not compared** (the baseline commit's build could not be measured); allocation only, exact, against bench/baseline.json.\n\n");
        text.Append("| Benchmark | Baseline commit ns | Now ns | Now ÷ baseline | p (slower) | Iterations | Committed B/op | Now B/op | MemoryDiagnoser B/op | Verdict |\n");
        text.Append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        foreach (GateRow row in rows)
        {
            string verdict = row.Note.Length == 0 ? VerdictText(row.Verdict) : $"{VerdictText(row.Verdict)} ({row.Note})";
            string iterations = row.Time is null ? "–" : $"{row.Time.BaselineSamples} / {row.Time.NowSamples}";
            text.Append(CultureInfo.InvariantCulture,
                $"| {row.Key} | {Ns(row.Time?.BaselineNs)} | {Ns(row.NowNs)} | {Ratio(row.Time?.Ratio)} | {P(row.Time?.PSlower)} | {iterations} | {Bytes(row.Committed?.AllocatedBytes)} | {Bytes(row.NowAllocatedBytes)} | {Bytes(row.DiagnoserBytes)} | {verdict} |\n");
        }

        int failed = rows.Count(r => r.Failed);
        text.Append(CultureInfo.InvariantCulture, $"\n{(failed == 0 ? "PASS" : "FAIL")}: {rows.Count} cases, {failed} failed.\n");
        return text.ToString();
    }

    public static string Console(IReadOnlyList<GateRow> rows)
    {
        int width = Math.Max(20, rows.Max(r => r.Key.Length));
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"{"benchmark".PadRight(width)}  {"base ns",10} {"now ns",10} {"now/base",8} {"p slower",8}  {"B/op",6} {"now",6}  verdict\n");
        foreach (GateRow row in rows)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{row.Key.PadRight(width)}  {Ns(row.Time?.BaselineNs),10} {Ns(row.NowNs),10} {Ratio(row.Time?.Ratio),8} {P(row.Time?.PSlower),8}  {Bytes(row.Committed?.AllocatedBytes),6} {Bytes(row.NowAllocatedBytes),6}  {VerdictText(row.Verdict)} {row.Note}\n");
        }

        return text.ToString();
    }

    public static string Json(IReadOnlyList<GateRow> rows, GateOptions options, string? baselineCommit, bool timeCompared) =>
        JsonSerializer.Serialize(new
        {
            passed = rows.All(r => !r.Failed),
            baselineCommit,
            timeCompared,
            options,
            rows = rows.Select(r => new
            {
                r.Key,
                verdict = r.Verdict.ToString(),
                r.Note,
                committed = r.Committed,
                time = r.Time is null ? null : new { r.Time.BaselineNs, r.Time.NowNs, r.Time.Ratio, r.Time.PSlower, r.Time.PFaster, r.Time.BaselineSamples, r.Time.NowSamples },
                now = new { ns = r.NowNs, allocatedBytes = r.NowAllocatedBytes, diagnoserBytes = r.DiagnoserBytes },
                r.Tolerance,
            }),
        }, s_json);

    private static string VerdictText(Verdict verdict) => verdict switch
    {
        Verdict.Pass => "ok",
        Verdict.Improved => "ok, improved",
        Verdict.New => "new",
        Verdict.BaselineOnly => "gone",
        Verdict.AllocationRegression => "FAIL alloc",
        Verdict.TimeRegression => "FAIL time",
        Verdict.Missing => "FAIL missing",
        _ => verdict.ToString(),
    };

    private static string Ns(double? ns) => ns switch
    {
        null => "–",
        >= 1_000_000 => (ns.Value / 1_000_000).ToString("0.00", CultureInfo.InvariantCulture) + " ms",
        >= 10_000 => (ns.Value / 1_000).ToString("0.0", CultureInfo.InvariantCulture) + " µs",
        _ => ns.Value.ToString("0.0", CultureInfo.InvariantCulture),
    };

    private static string Ratio(double? ratio) => ratio?.ToString("0.000", CultureInfo.InvariantCulture) ?? "–";

    internal static string P(double? p) => p switch
    {
        null => "–",
        < 0.0001 => p.Value.ToString("0.0e0", CultureInfo.InvariantCulture),
        _ => p.Value.ToString("0.0000", CultureInfo.InvariantCulture),
    };

    private static string Bytes(long? bytes) => bytes?.ToString(CultureInfo.InvariantCulture) ?? "–";
}
