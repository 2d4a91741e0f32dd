using System.Text.Json.Serialization;

namespace Gateway.LoadGen;

/// <summary>
/// A log-linear (HDR-like) histogram of non-negative integer values (microseconds here): exact below 128, then 64
/// linear sub-buckets per power of two (≤ 1.6% relative error). Counts are plain longs, so merging two histograms is
/// exact: add the counts. Recording is lock-free and safe from many threads.
/// </summary>
public sealed class Histogram
{
    public const int SubBucketBits = 7;
    private const int SubBucketCount = 1 << SubBucketBits; // 128
    private const int SubBucketHalf = SubBucketCount / 2;   // 64

    /// <summary>Values up to 2^40 µs (~12 days) are tracked; larger ones are clamped.</summary>
    public const int MaxExponent = 40;

    public static readonly int BucketCount = SubBucketCount + (MaxExponent - SubBucketBits + 1) * SubBucketHalf;

    private readonly long[] _counts = new long[BucketCount];
    private long _total;
    private long _min = long.MaxValue;
    private long _max = -1;
    private long _sum;

    public long TotalCount => Interlocked.Read(ref _total);

    public long Min => _total == 0 ? 0 : _min;

    public long Max => Math.Max(0, _max);

    public double Mean => _total == 0 ? 0 : (double)_sum / _total;

    public static int IndexOf(long value)
    {
        if (value < 0)
        {
            value = 0;
        }

        if (value < SubBucketCount)
        {
            return (int)value;
        }

        int log2 = 63 - (int)long.LeadingZeroCount(value);
        if (log2 > MaxExponent)
        {
            return BucketCount - 1;
        }

        int shift = log2 - (SubBucketBits - 1); // value >> shift lies in [64, 128)
        return SubBucketCount + (shift - 1) * SubBucketHalf + (int)((value >> shift) - SubBucketHalf);
    }

    /// <summary>Lowest value that maps to <paramref name="index"/>.</summary>
    public static long LowestOf(int index)
    {
        if (index < SubBucketCount)
        {
            return index;
        }

        int shift = (index - SubBucketCount) / SubBucketHalf + 1;
        long sub = (index - SubBucketCount) % SubBucketHalf + SubBucketHalf;
        return sub << shift;
    }

    /// <summary>Highest value that maps to <paramref name="index"/>.</summary>
    public static long HighestOf(int index) => index + 1 >= BucketCount ? long.MaxValue : LowestOf(index + 1) - 1;

    public void Record(long value)
    {
        Interlocked.Increment(ref _counts[IndexOf(value)]);
        Interlocked.Increment(ref _total);
        Interlocked.Add(ref _sum, Math.Max(0, value));
        long seen;
        while (value < (seen = Volatile.Read(ref _min)) && Interlocked.CompareExchange(ref _min, value, seen) != seen)
        {
        }

        while (value > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, value, seen) != seen)
        {
        }
    }

    public void Add(Histogram other)
    {
        for (int i = 0; i < BucketCount; i++)
        {
            _counts[i] += other._counts[i];
        }

        if (other._total > 0)
        {
            _min = Math.Min(_min, other._min);
            _max = Math.Max(_max, other._max);
        }

        _total += other._total;
        _sum += other._sum;
    }

    /// <summary>Value at a percentile (0–100): the highest value of the bucket that holds it, capped at the exact max.</summary>
    public long ValueAt(double percentile)
    {
        if (_total == 0)
        {
            return 0;
        }

        long rank = Math.Max(1, (long)Math.Ceiling(percentile / 100.0 * _total));
        long running = 0;
        for (int i = 0; i < BucketCount; i++)
        {
            running += _counts[i];
            if (running >= rank)
            {
                return Math.Min(HighestOf(i), _max);
            }
        }

        return _max;
    }

    /// <summary>Points for a CDF: (value, fraction at or below) for every non-empty bucket.</summary>
    public IEnumerable<(long Value, double Fraction)> Cdf()
    {
        long running = 0;
        for (int i = 0; i < BucketCount; i++)
        {
            if (_counts[i] == 0)
            {
                continue;
            }

            running += _counts[i];
            yield return (Math.Min(HighestOf(i), _max), (double)running / _total);
        }
    }

    public HistogramData ToData()
    {
        var buckets = new List<long[]>();
        for (int i = 0; i < BucketCount; i++)
        {
            if (_counts[i] != 0)
            {
                buckets.Add([i, _counts[i]]);
            }
        }

        return new HistogramData
        {
            SubBucketBits = SubBucketBits,
            Unit = "us",
            Count = _total,
            Min = Min,
            Max = Max,
            Sum = _sum,
            Buckets = buckets,
        };
    }

    public static Histogram FromData(HistogramData? data)
    {
        var h = new Histogram();
        if (data is null)
        {
            return h;
        }

        if (data.SubBucketBits != SubBucketBits && data.Count > 0)
        {
            throw new InvalidDataException($"histogram with {data.SubBucketBits} sub-bucket bits cannot merge with {SubBucketBits}");
        }

        foreach (long[] pair in data.Buckets)
        {
            h._counts[(int)pair[0]] += pair[1];
        }

        h._total = data.Count;
        h._sum = data.Sum;
        if (data.Count > 0)
        {
            h._min = data.Min;
            h._max = data.Max;
        }

        return h;
    }
}

/// <summary>Sparse, exact JSON form of a <see cref="Histogram"/>: [bucket index, count] pairs.</summary>
public sealed class HistogramData
{
    public int SubBucketBits { get; set; } = Histogram.SubBucketBits;

    public string Unit { get; set; } = "us";

    public long Count { get; set; }

    public long Min { get; set; }

    public long Max { get; set; }

    public long Sum { get; set; }

    [JsonPropertyName("buckets")]
    public List<long[]> Buckets { get; set; } = [];
}
