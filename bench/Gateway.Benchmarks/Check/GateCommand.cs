using System.Globalization;
using System.Reflection;
using System.Text.Json;

namespace Gateway.Benchmarks.Check;

/// <summary>
/// <c>--check NOW_ARTIFACTS [--baseline-run ARTIFACTS] --baseline FILE --summary DIR [--update --commit SHA]
/// [--tolerance 0.25] [--fast-tolerance 1.0] [--fast-ns 20] [--alpha 0.01]</c>: compares the current build's runs
/// with the baseline commit's build measured in the same run (time) and with the committed file (allocation).
/// </summary>
public static class GateCommand
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        // Keys keep their "&" (Connections=1&Output=Null) as the committed file has them; it is never embedded in HTML.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static int Run(string[] args, Assembly assembly, TextWriter output)
    {
        if (args.Length == 0)
        {
            output.WriteLine("usage: --check NOW_ARTIFACTS [--baseline-run ARTIFACTS] --baseline FILE --summary DIR [--update --commit SHA] [--tolerance 0.25] [--fast-tolerance 1.0] [--fast-ns 20] [--alpha 0.01]");
            return 2;
        }

        string artifacts = args[0];
        string? baselineRunDir = Value(args, "--baseline-run");
        string baselinePath = Value(args, "--baseline") ?? "bench/baseline.json";
        string summaryDir = Value(args, "--summary") ?? "bench/results";
        bool update = args.Contains("--update");
        var options = new GateOptions(
            Tolerance: Number(args, "--tolerance") ?? 0.25,
            FastTolerance: Number(args, "--fast-tolerance") ?? 1.0,
            FastThresholdNs: Number(args, "--fast-ns") ?? 20,
            Alpha: Number(args, "--alpha") ?? 0.01);

        IReadOnlyList<BenchResult> results = ResultReader.ReadDirectory(artifacts, assembly);
        IReadOnlyList<BenchResult>? baselineRun = null;
        if (baselineRunDir is not null && Directory.Exists(baselineRunDir) && Directory.EnumerateFiles(baselineRunDir, "*-report*.json", SearchOption.AllDirectories).Any())
        {
            baselineRun = ResultReader.ReadDirectory(baselineRunDir, assembly);
        }

        string machine = $"{Environment.MachineName}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
        string date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        BaselineFile committed = File.Exists(baselinePath) || !update ? Load(baselinePath) : new BaselineFile(machine, date, null, []);
        IReadOnlyList<GateRow> rows = GateComparer.Compare(results, baselineRun, committed, options);
        output.Write(GateReport.Console(rows));

        string against = committed.Commit is null ? "no baseline commit" : $"baseline commit {committed.Commit[..Math.Min(12, committed.Commit.Length)]}";
        Directory.CreateDirectory(summaryDir);
        File.WriteAllText(Path.Combine(summaryDir, "summary.md"),
            GateReport.Markdown(rows, options, $"Benchmark gate, {date} ({machine}); {against}, bench/baseline.json of {committed.Date}", baselineRun is not null));
        File.WriteAllText(Path.Combine(summaryDir, "summary.json"), GateReport.Json(rows, options, committed.Commit, baselineRun is not null) + "\n");
        if (baselineRun is null)
        {
            output.WriteLine($"WARNING: time was NOT compared (no run of the {against}); allocation only.");
        }

        if (update)
        {
            // The code measured is the working tree; bench/check passes HEAD and warns when the tree differs.
            BaselineFile updated = GateComparer.ToBaseline(results, machine, date, Value(args, "--commit"));
            File.WriteAllText(baselinePath, JsonSerializer.Serialize(updated, s_json) + "\n");
            output.WriteLine($"baseline rewritten: {baselinePath} ({updated.Benchmarks.Count} cases, commit {updated.Commit ?? "unknown"}); the table above is the run against the old one");
            return 0;
        }

        int failed = rows.Count(r => r.Failed);
        output.WriteLine(failed == 0
            ? $"PASS: {rows.Count} cases within the baseline"
            : $"FAIL: {failed} of {rows.Count} cases regressed (see {Path.Combine(summaryDir, "summary.md")})");
        return failed == 0 ? 0 : 1;
    }

    public static BaselineFile Load(string path) =>
        JsonSerializer.Deserialize<BaselineFile>(File.ReadAllText(path), s_json) ?? throw new InvalidDataException($"{path}: empty baseline");

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static double? Number(string[] args, string name) =>
        Value(args, name) is string s ? double.Parse(s, CultureInfo.InvariantCulture) : null;
}
