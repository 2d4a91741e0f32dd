namespace Gateway.Benchmarks.Check;

/// <summary>One benchmark case of one build, pooled over the runs the gate made of it.</summary>
/// <param name="Type">The benchmark class (short name).</param>
/// <param name="Method">The benchmark method.</param>
/// <param name="Parameters">BenchmarkDotNet's parameter string (<c>Size=1024</c>), empty when none.</param>
/// <param name="Samples">Time per operation of every measured iteration (ns), in the order read.</param>
/// <param name="AllocatedBytes">Bytes allocated per operation: the gate's exact figure (see <see cref="AllocationProbe"/>).</param>
/// <param name="DiagnoserBytes">MemoryDiagnoser's figure from the same run, for the table.</param>
/// <param name="Tolerance">The class's <see cref="GateToleranceAttribute"/>, if any.</param>
public sealed record BenchResult(string Type, string Method, string Parameters, IReadOnlyList<double> Samples, long AllocatedBytes, long? DiagnoserBytes = null, double? Tolerance = null)
{
    public string Key => Parameters.Length == 0 ? $"{Type}.{Method}" : $"{Type}.{Method}({Parameters})";

    /// <summary>The median iteration (ns/op): what the table shows and the threshold compares.</summary>
    public double Ns => Statistics.Median(Samples);
}

/// <summary>A committed figure: the allocation the gate enforces, with the time at <c>--update</c> for reference.</summary>
public sealed record BaselineEntry(string Key, double Ns, long AllocatedBytes);

/// <summary>
/// <c>bench/baseline.json</c>. <see cref="Commit"/> is the code the time gate measures the current code against (built
/// beside it in the same run); the figures are that code's, kept for the allocation gate and for reference.
/// </summary>
public sealed record BaselineFile(string Machine, string Date, string? Commit, IReadOnlyList<BaselineEntry> Benchmarks);

public static class Statistics
{
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            throw new ArgumentException("no values");
        }

        double[] sorted = values.Order().ToArray();
        int middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
