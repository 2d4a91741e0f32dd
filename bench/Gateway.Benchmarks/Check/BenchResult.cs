namespace Gateway.Benchmarks.Check;

/// <summary>One benchmark case of one run: what the gate compares.</summary>
/// <param name="Type">The benchmark class (short name).</param>
/// <param name="Method">The benchmark method.</param>
/// <param name="Parameters">BenchmarkDotNet's parameter string (<c>Size=1024</c>), empty when none.</param>
/// <param name="Ns">Time per operation: the fastest iteration of the run (see <see cref="ResultReader"/>).</param>
/// <param name="AllocatedBytes">Bytes allocated per operation: the gate's exact figure (see <see cref="AllocationProbe"/>).</param>
/// <param name="IsBaseline">True for the class's <c>Baseline = true</c> method.</param>
/// <param name="DiagnoserBytes">MemoryDiagnoser's figure from the same run, for the table.</param>
/// <param name="Tolerance">The class's <see cref="GateToleranceAttribute"/>, if any.</param>
public sealed record BenchResult(string Type, string Method, string Parameters, double Ns, long AllocatedBytes, bool IsBaseline, long? DiagnoserBytes = null, double? Tolerance = null)
{
    public string Key => Parameters.Length == 0 ? $"{Type}.{Method}" : $"{Type}.{Method}({Parameters})";

    /// <summary>Cases that share a class and parameters are compared with the same baseline case.</summary>
    public string GroupKey => $"{Type}|{Parameters}";
}

/// <summary>A committed figure: the ratio to the class's baseline case and the allocation, with the time for reference.</summary>
public sealed record BaselineEntry(string Key, double Ns, double Ratio, long AllocatedBytes, bool IsBaseline);

/// <summary><c>bench/baseline.json</c>.</summary>
public sealed record BaselineFile(string Machine, string Date, IReadOnlyList<BaselineEntry> Benchmarks);
