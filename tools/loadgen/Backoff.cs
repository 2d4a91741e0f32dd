namespace Gateway.LoadGen;

/// <summary>
/// socket.io-client's reconnection backoff (the `backo2` algorithm in socket.io-client/build/contrib/backo2.js):
/// <c>ms = min * factor^attempts++</c>; with jitter, <c>deviation = floor(rand * jitter * ms)</c> is subtracted when
/// <c>floor(rand * 10)</c> is even and added when odd; the result is capped at max and truncated to an integer.
/// Defaults are the Manager's: reconnectionDelay 1000, reconnectionDelayMax 5000, randomizationFactor 0.5, factor 2.
/// </summary>
public sealed class Backoff
{
    private readonly Func<double> _random;

    public Backoff(double min = 1000, double max = 5000, double jitter = 0.5, double factor = 2, Func<double>? random = null)
    {
        Min = min;
        Max = max;
        Jitter = jitter > 0 && jitter <= 1 ? jitter : 0;
        Factor = factor;
        _random = random ?? Random.Shared.NextDouble;
    }

    public double Min { get; }

    public double Max { get; }

    public double Jitter { get; }

    public double Factor { get; }

    public int Attempts { get; private set; }

    /// <summary>The next delay in milliseconds.</summary>
    public int Duration()
    {
        double ms = Min * Math.Pow(Factor, Attempts++);
        if (Jitter > 0)
        {
            double rand = _random();
            double deviation = Math.Floor(rand * Jitter * ms);
            ms = ((int)Math.Floor(rand * 10) & 1) == 0 ? ms - deviation : ms + deviation;
        }

        // JavaScript's `Math.min(ms, max) | 0`: ToInt32 of the smaller value.
        return (int)Math.Min(ms, Max);
    }

    public void Reset() => Attempts = 0;
}
