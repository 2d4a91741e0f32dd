using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Gateway.Benchmarks.Check;

/// <summary>The gate's table, as console text, Markdown and JSON.</summary>
public static class GateReport
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public static string Markdown(IReadOnlyList<GateRow> rows, GateOptions options, string title)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"### {title}\n\n");
        text.Append(CultureInfo.InvariantCulture,
            $"Time (fastest iteration, ns/op) is the ratio to the class's baseline case in the same run (tolerance {options.Tolerance:P0}, {options.FastTolerance:P0} under {options.FastThresholdNs} ns); allocation is exact.\n\n");
        text.Append("| Benchmark | Baseline ns | Baseline ratio | Baseline B/op | Now ns | Now ratio | Now B/op | MemoryDiagnoser B/op | Verdict |\n");
        text.Append("|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
        foreach (GateRow row in rows)
        {
            string verdict = row.Note.Length == 0 ? VerdictText(row.Verdict) : $"{VerdictText(row.Verdict)} ({row.Note})";
            text.Append(CultureInfo.InvariantCulture,
                $"| {row.Key} | {Ns(row.Baseline?.Ns)} | {Ratio(row.Baseline?.Ratio)} | {row.Baseline?.AllocatedBytes.ToString(CultureInfo.InvariantCulture) ?? "–"} | {Ns(row.NowNs)} | {Ratio(row.NowRatio)} | {row.NowAllocatedBytes?.ToString(CultureInfo.InvariantCulture) ?? "–"} | {row.DiagnoserBytes?.ToString(CultureInfo.InvariantCulture) ?? "–"} | {verdict} |\n");
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
            $"{"benchmark".PadRight(width)}  {"base ns",10} {"ratio",8} {"B/op",6}  {"now ns",10} {"ratio",8} {"B/op",6}  verdict\n");
        foreach (GateRow row in rows)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{row.Key.PadRight(width)}  {Ns(row.Baseline?.Ns),10} {Ratio(row.Baseline?.Ratio),8} {row.Baseline?.AllocatedBytes.ToString(CultureInfo.InvariantCulture) ?? "–",6}  {Ns(row.NowNs),10} {Ratio(row.NowRatio),8} {row.NowAllocatedBytes?.ToString(CultureInfo.InvariantCulture) ?? "–",6}  {VerdictText(row.Verdict)} {row.Note}\n");
        }

        return text.ToString();
    }

    public static string Json(IReadOnlyList<GateRow> rows, GateOptions options) =>
        JsonSerializer.Serialize(new
        {
            passed = rows.All(r => !r.Failed),
            options,
            rows = rows.Select(r => new
            {
                r.Key,
                verdict = r.Verdict.ToString(),
                r.Note,
                baseline = r.Baseline,
                now = new { ns = r.NowNs, ratio = r.NowRatio, allocatedBytes = r.NowAllocatedBytes },
                r.Tolerance,
            }),
        }, s_json);

    private static string VerdictText(Verdict verdict) => verdict switch
    {
        Verdict.Pass => "ok",
        Verdict.Improved => "ok, improved",
        Verdict.New => "new",
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
}
