using System.Globalization;
using System.Reflection;
using System.Text.Json;

namespace Gateway.Benchmarks.Check;

/// <summary><c>--check ARTIFACTS --baseline FILE --summary DIR [--update] [--tolerance T] [--fast-tolerance T] [--fast-ns N]</c>.</summary>
public static class GateCommand
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static int Run(string[] args, Assembly assembly, TextWriter output)
    {
        if (args.Length == 0)
        {
            output.WriteLine("usage: --check ARTIFACTS --baseline FILE --summary DIR [--update] [--tolerance 0.25] [--fast-tolerance 1.0] [--fast-ns 20]");
            return 2;
        }

        string artifacts = args[0];
        string baselinePath = Value(args, "--baseline") ?? "bench/baseline.json";
        string summaryDir = Value(args, "--summary") ?? "bench/results";
        var options = new GateOptions(
            Tolerance: Number(args, "--tolerance") ?? 0.25,
            FastTolerance: Number(args, "--fast-tolerance") ?? 1.0,
            FastThresholdNs: Number(args, "--fast-ns") ?? 20);

        IReadOnlyList<BenchResult> results = ResultReader.ReadDirectory(artifacts, assembly);
        string machine = $"{Environment.MachineName}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
        string date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

        if (args.Contains("--update"))
        {
            BaselineFile updated = GateComparer.ToBaseline(results, machine, date);
            File.WriteAllText(baselinePath, JsonSerializer.Serialize(updated, s_json) + "\n");
            output.WriteLine($"baseline rewritten: {baselinePath} ({updated.Benchmarks.Count} cases)");
        }

        BaselineFile baseline = Load(baselinePath);
        IReadOnlyList<GateRow> rows = GateComparer.Compare(results, baseline, options);
        output.Write(GateReport.Console(rows));

        Directory.CreateDirectory(summaryDir);
        File.WriteAllText(Path.Combine(summaryDir, "summary.md"), GateReport.Markdown(rows, options, $"Benchmark gate, {date} ({machine}); baseline of {baseline.Date}"));
        File.WriteAllText(Path.Combine(summaryDir, "summary.json"), GateReport.Json(rows, options) + "\n");

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
