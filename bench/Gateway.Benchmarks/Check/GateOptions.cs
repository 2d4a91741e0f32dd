namespace Gateway.Benchmarks.Check;

/// <summary>
/// How much slower (as a ratio to the same run's baseline case) a benchmark may get before the gate fails. Cases
/// under <see cref="FastThresholdNs"/> (or whose baseline is) get <see cref="FastTolerance"/>: at a few nanoseconds
/// a shared machine's noise is larger than any regression worth catching, and a case still under the threshold never
/// fails on time (a ratio to a sub-nanosecond figure means nothing). Allocation has no tolerance.
/// </summary>
public sealed record GateOptions(double Tolerance = 0.25, double FastTolerance = 1.0, double FastThresholdNs = 20);
