namespace Gateway.Benchmarks.Check;

/// <summary>
/// When a case is slower than the baseline commit's build measured in the same run. It fails on time only when both
/// its median is more than <see cref="Tolerance"/> above the baseline's and a one-sided Mann-Whitney U test, against
/// the baseline's iterations moved up by that tolerance, gives p below <see cref="Alpha"/>. Cases under
/// <see cref="FastThresholdNs"/> on either side get <see cref="FastTolerance"/>, and a case still under the threshold
/// never fails on time: at a few nanoseconds a shared machine's noise is larger than any regression worth catching.
/// Allocation has no tolerance.
/// </summary>
public sealed record GateOptions(double Tolerance = 0.25, double FastTolerance = 1.0, double FastThresholdNs = 20, double Alpha = 0.01);
