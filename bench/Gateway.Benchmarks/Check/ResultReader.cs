using System.Reflection;
using System.Text.Json;

namespace Gateway.Benchmarks.Check;

/// <summary>
/// Reads BenchmarkDotNet's JSON reports (<c>*-report*.json</c>, brief or full) of one build: every iteration's time
/// per operation, and the allocation. The same case in several reports (the gate measures a class more than once)
/// is pooled into one sample. Only the case key (<c>Type.Method(Parameters)</c>) matters, so the reports of another
/// commit's build, whose classes may differ, read the same way.
/// </summary>
public static class ResultReader
{
    public static IReadOnlyList<BenchResult> ReadDirectory(string directory, Assembly assembly)
    {
        string[] files = Directory.GetFiles(directory, "*-report*.json", SearchOption.AllDirectories);
        if (files.Length == 0)
        {
            throw new FileNotFoundException($"no BenchmarkDotNet *-report*.json under {directory}");
        }

        // A full report beside a brief one of the same run holds the same iterations: read one per run directory.
        IEnumerable<string> reports = files
            .GroupBy(f => Path.Combine(Path.GetDirectoryName(f) ?? "", Path.GetFileName(f).Split("-report")[0]), StringComparer.Ordinal)
            .Select(g => g.Order(StringComparer.Ordinal).First());
        List<BenchResult> results = Pool(reports.Order(StringComparer.Ordinal).SelectMany(f => Parse(File.ReadAllText(f), assembly))).ToList();

        // The exact figures (the probe's, one file per run; the largest when a case ran more than once) replace the
        // diagnoser's, which is kept for the table.
        string[] probes = Directory.GetFiles(directory, AllocationProbe.FileName, SearchOption.AllDirectories);
        if (probes.Length > 0)
        {
            Dictionary<string, long> exact = probes.SelectMany(p => AllocationProbe.Load(p))
                .GroupBy(f => f.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Max(f => f.Value), StringComparer.Ordinal);
            results = results.Select(r => r with
            {
                DiagnoserBytes = r.AllocatedBytes,
                AllocatedBytes = exact.TryGetValue(r.Key, out long bytes) ? bytes : throw new InvalidDataException($"{directory}: no exact allocation figure for {r.Key}"),
            }).ToList();
        }

        return results;
    }

    /// <summary>One result per case: the samples of all its runs together, the largest allocation of any.</summary>
    public static IEnumerable<BenchResult> Pool(IEnumerable<BenchResult> results) =>
        results
            .GroupBy(r => r.Key, StringComparer.Ordinal)
            .Select(g => g.First() with
            {
                Samples = g.SelectMany(r => r.Samples).ToArray(),
                AllocatedBytes = g.Max(r => r.AllocatedBytes),
                DiagnoserBytes = g.Max(r => r.DiagnoserBytes),
            });

    public static IReadOnlyList<BenchResult> Parse(string json, Assembly assembly)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        var results = new List<BenchResult>();
        foreach (JsonElement b in document.RootElement.GetProperty("Benchmarks").EnumerateArray())
        {
            string ns = b.GetProperty("Namespace").GetString() ?? "";
            string type = b.GetProperty("Type").GetString() ?? "";
            string method = b.GetProperty("Method").GetString() ?? "";
            string parameters = b.TryGetProperty("Parameters", out JsonElement p) ? p.GetString() ?? "" : "";
            double[] samples = Samples(b);
            if (samples.Length == 0)
            {
                // A case that failed to run has no statistics: it shows up as Missing.
                continue;
            }

            long allocated = b.GetProperty("Memory").GetProperty("BytesAllocatedPerOperation").GetInt64();
            double? tolerance = assembly.GetType(ns.Length == 0 ? type : $"{ns}.{type}")?.GetCustomAttribute<GateToleranceAttribute>()?.Tolerance;
            results.Add(new BenchResult(type, method, parameters, samples, allocated, Tolerance: tolerance));
        }

        return results;
    }

    /// <summary>
    /// Every measured iteration in ns per operation: the full report's Workload/Result measurements, else the
    /// statistics' <c>OriginalValues</c> (the same iterations, outliers included; the brief report has only these).
    /// </summary>
    private static double[] Samples(JsonElement benchmark)
    {
        if (benchmark.TryGetProperty("Measurements", out JsonElement measurements) && measurements.ValueKind == JsonValueKind.Array)
        {
            double[] result = measurements.EnumerateArray()
                .Where(m => m.GetProperty("IterationMode").GetString() == "Workload" && m.GetProperty("IterationStage").GetString() == "Result")
                .Select(m => m.GetProperty("Nanoseconds").GetDouble() / m.GetProperty("Operations").GetInt64())
                .ToArray();
            if (result.Length > 0)
            {
                return result;
            }
        }

        if (benchmark.TryGetProperty("Statistics", out JsonElement stats) && stats.ValueKind == JsonValueKind.Object &&
            stats.TryGetProperty("OriginalValues", out JsonElement values) && values.ValueKind == JsonValueKind.Array)
        {
            return values.EnumerateArray().Select(v => v.GetDouble()).ToArray();
        }

        return [];
    }
}
