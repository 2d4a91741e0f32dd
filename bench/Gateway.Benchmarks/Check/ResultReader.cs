using System.Reflection;
using System.Text.Json;
using BenchmarkDotNet.Attributes;

namespace Gateway.Benchmarks.Check;

/// <summary>
/// Reads BenchmarkDotNet's brief JSON reports (<c>*-report-brief.json</c>). The JSON does not say which case is the
/// baseline, so that comes from the <c>[Benchmark(Baseline = true)]</c> attributes of this assembly.
/// </summary>
public static class ResultReader
{
    public static IReadOnlyList<BenchResult> ReadDirectory(string directory, Assembly assembly)
    {
        string[] files = Directory.GetFiles(directory, "*-report-brief.json", SearchOption.AllDirectories);
        if (files.Length == 0)
        {
            throw new FileNotFoundException($"no *-report-brief.json under {directory}");
        }

        var results = new List<BenchResult>();
        foreach (string file in files.Order(StringComparer.Ordinal))
        {
            results.AddRange(Parse(File.ReadAllText(file), assembly));
        }

        // The exact figures replace the diagnoser's, which is kept for the table.
        string probe = Path.Combine(directory, AllocationProbe.FileName);
        if (File.Exists(probe))
        {
            IReadOnlyDictionary<string, long> exact = AllocationProbe.Load(probe);
            results = results.Select(r => r with
            {
                DiagnoserBytes = r.AllocatedBytes,
                AllocatedBytes = exact.TryGetValue(r.Key, out long bytes) ? bytes : throw new InvalidDataException($"{probe}: no figure for {r.Key}"),
            }).ToList();
        }

        return results;
    }

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
            if (!b.TryGetProperty("Statistics", out JsonElement stats) || stats.ValueKind != JsonValueKind.Object)
            {
                // A case that failed to run has no statistics: it shows up as Missing.
                continue;
            }

            // The minimum, not the median: interference from other work on the machine only ever adds time, so the
            // fastest iteration is the one closest to the code's own cost, and ratios of minimums are the stablest.
            double min = stats.GetProperty("Min").GetDouble();
            long allocated = b.GetProperty("Memory").GetProperty("BytesAllocatedPerOperation").GetInt64();
            Type? benchmarkType = assembly.GetType(ns.Length == 0 ? type : $"{ns}.{type}");
            double? tolerance = benchmarkType?.GetCustomAttribute<GateToleranceAttribute>()?.Tolerance;
            results.Add(new BenchResult(type, method, parameters, min, allocated, IsBaseline(assembly, ns, type, method), Tolerance: tolerance));
        }

        return results;
    }

    private static bool IsBaseline(Assembly assembly, string ns, string type, string method)
    {
        Type? t = assembly.GetType(ns.Length == 0 ? type : $"{ns}.{type}");
        return t?.GetMethod(method)?.GetCustomAttribute<BenchmarkAttribute>()?.Baseline ?? false;
    }
}
