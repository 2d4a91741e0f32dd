using System.Diagnostics.Metrics;

namespace Gateway.Diagnostics;

/// <summary>
/// Counters indexed by a reason's number, reported as one metric with a <c>reason</c> tag. The names come from the
/// layer that defines the reasons (<see cref="Describe"/>); counting is one atomic add.
/// </summary>
internal sealed class ReasonCounters
{
    private const int MaxReasons = 32;
    private readonly long[] _counts = new long[MaxReasons];
    private KeyValuePair<string, object?>[] _tags = [];
    private string[] _names = [];
    private int _first;

    /// <summary>Names the reasons by number; with <paramref name="skipFirst"/>, number 0 ("none") is not reported.</summary>
    public void Describe(IReadOnlyList<string> names, bool skipFirst)
    {
        if (names.Count > MaxReasons)
        {
            throw new ArgumentOutOfRangeException(nameof(names), names.Count, $"at most {MaxReasons} reasons");
        }

        _first = skipFirst ? 1 : 0;
        _names = names.ToArray();
        _tags = _names.Select(name => new KeyValuePair<string, object?>("reason", name)).ToArray();
    }

    public void Increment(int reason) => Interlocked.Increment(ref _counts[reason]);

    public long Get(int reason) => Volatile.Read(ref _counts[reason]);

    public IEnumerable<Measurement<long>> Measure()
    {
        KeyValuePair<string, object?>[] tags = _tags;
        var measurements = new Measurement<long>[Math.Max(0, tags.Length - _first)];
        for (int i = 0; i < measurements.Length; i++)
        {
            measurements[i] = new Measurement<long>(Get(i + _first), tags[i + _first]);
        }

        return measurements;
    }

    public Dictionary<string, long> ByName()
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = _first; i < _names.Length; i++)
        {
            counts[_names[i]] = Get(i);
        }

        return counts;
    }
}
