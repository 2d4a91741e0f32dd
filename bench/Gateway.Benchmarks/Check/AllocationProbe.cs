using System.Reflection;
using System.Text.Json;

namespace Gateway.Benchmarks.Check;

/// <summary>
/// The allocation figure the gate enforces: every case's body run on this thread after a warm-up, counted with
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/>. MemoryDiagnoser reads the process-wide counter over one
/// iteration, so on a case with few operations per iteration (10,000 connections) a few KB allocated elsewhere in
/// the process while it ran show up as tens of bytes per operation and come and go between runs; an exact gate
/// needs a figure that does not. The diagnoser's figure is still printed beside it.
/// </summary>
public static class AllocationProbe
{
    public const string FileName = "allocations.json";

    /// <param name="include">The cases to probe; all when null.</param>
    public static IReadOnlyDictionary<string, long> Run(Assembly assembly, TextWriter log, Func<BenchmarkCase, bool>? include = null, int warmup = 100, int calls = 400)
    {
        var figures = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (IGrouping<string, BenchmarkCase> group in BenchmarkCase.All(assembly).Where(include ?? (_ => true)).GroupBy(c => $"{c.Type.FullName}|{c.Parameters}"))
        {
            foreach (BenchmarkCase benchmarkCase in group)
            {
                // A fresh instance per case, as BenchmarkDotNet does: one case's warm-up cannot hide another's growth.
                using BenchmarkCase.Instance instance = benchmarkCase.Create();
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                long bytes = instance.MeasureAllocatedBytesPerOperation(warmup, calls);
                figures[benchmarkCase.Key] = bytes;
                log.WriteLine($"allocation probe: {benchmarkCase.Key} = {bytes} B/op ({System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms)");
            }
        }

        return figures;
    }

    public static void Save(IReadOnlyDictionary<string, long> figures, string path) =>
        File.WriteAllText(path, JsonSerializer.Serialize(figures, new JsonSerializerOptions { WriteIndented = true }) + "\n");

    public static IReadOnlyDictionary<string, long> Load(string path) =>
        JsonSerializer.Deserialize<Dictionary<string, long>>(File.ReadAllText(path)) ?? [];
}
