namespace Gateway.Benchmarks.Check;

/// <summary>
/// Overrides the gate's time tolerance for one benchmark class, for a measurement that is noisy by nature (say
/// why at the use). Allocation stays exact.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class GateToleranceAttribute(double tolerance) : Attribute
{
    public double Tolerance { get; } = tolerance;
}
