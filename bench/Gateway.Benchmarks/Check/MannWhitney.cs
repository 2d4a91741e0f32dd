namespace Gateway.Benchmarks.Check;

/// <summary>
/// The Mann-Whitney U test (Wilcoxon rank-sum), one-sided: do the values of <c>y</c> tend to be greater than those
/// of <c>x</c>? It compares ranks only, so it assumes nothing about the shape of the distributions: iteration times on
/// a shared machine have a long right tail (a neighbour's burst), which a t-test would read as a shift of the mean.
/// Exact distribution when no value is tied, the normal approximation with tie and continuity corrections otherwise.
/// </summary>
public static class MannWhitney
{
    // Beyond this many pairs the exact distribution costs more than it is worth; the normal approximation is close.
    private const int ExactPairs = 2500;

    /// <summary>U of <paramref name="y"/>: the pairs (x_i, y_j) with y_j &gt; x_i, a tie counting one half.</summary>
    public static double U(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        double u = 0;
        foreach (double yj in y)
        {
            foreach (double xi in x)
            {
                u += yj > xi ? 1 : yj == xi ? 0.5 : 0;
            }
        }

        return u;
    }

    /// <summary>
    /// The p-value of "y is greater than x": the probability, were both samples from one distribution, of a U of
    /// <paramref name="y"/> at least as large as the one observed.
    /// </summary>
    public static double PGreater(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count == 0 || y.Count == 0)
        {
            throw new ArgumentException("both samples need at least one value");
        }

        double u = U(x, y);
        bool tied = x.Concat(y).Distinct().Count() < x.Count + y.Count;
        return !tied && x.Count * y.Count <= ExactPairs ? ExactPGreater(x.Count, y.Count, u) : NormalPGreater(x, y, u);
    }

    /// <summary>P(U ≥ u) for samples of sizes m and n without ties, by counting the orderings that give each U.</summary>
    internal static double ExactPGreater(int m, int n, double u)
    {
        // counts[j][k]: orderings of i x's and j y's whose U (of the y's) is k, built up one x at a time. The
        // largest of i x's and j y's is either a y, above all i x's (adds i to U), or an x (adds nothing).
        var previous = new double[n + 1][];
        for (int j = 0; j <= n; j++)
        {
            previous[j] = [1];
        }

        for (int i = 1; i <= m; i++)
        {
            var current = new double[n + 1][];
            current[0] = [1];
            for (int j = 1; j <= n; j++)
            {
                var counts = new double[(i * j) + 1];
                double[] yLargest = current[j - 1];
                for (int k = 0; k < yLargest.Length; k++)
                {
                    counts[k + i] += yLargest[k];
                }

                double[] xLargest = previous[j];
                for (int k = 0; k < xLargest.Length; k++)
                {
                    counts[k] += xLargest[k];
                }

                current[j] = counts;
            }

            previous = current;
        }

        double[] distribution = previous[n];
        double total = 0;
        double atLeast = 0;
        int from = (int)Math.Ceiling(u);
        for (int k = 0; k < distribution.Length; k++)
        {
            total += distribution[k];
            if (k >= from)
            {
                atLeast += distribution[k];
            }
        }

        return atLeast / total;
    }

    private static double NormalPGreater(IReadOnlyList<double> x, IReadOnlyList<double> y, double u)
    {
        double m = x.Count;
        double n = y.Count;
        double count = m + n;
        double ties = x.Concat(y).GroupBy(v => v).Sum(g => Math.Pow(g.Count(), 3) - g.Count());
        double variance = m * n / 12 * (count + 1 - (ties / (count * (count - 1))));
        if (variance <= 0)
        {
            // Every value the same: no evidence either way.
            return 1;
        }

        double z = (u - (m * n / 2) - 0.5) / Math.Sqrt(variance);
        return 0.5 * Erfc(z / Math.Sqrt(2));
    }

    /// <summary>The complementary error function (Numerical Recipes' Chebyshev fit, relative error under 1.2e-7).</summary>
    internal static double Erfc(double x)
    {
        double z = Math.Abs(x);
        double t = 1 / (1 + (0.5 * z));
        ReadOnlySpan<double> c = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
        double polynomial = 0;
        for (int i = c.Length - 1; i >= 0; i--)
        {
            polynomial = (polynomial * t) + c[i];
        }

        double r = t * Math.Exp(-(z * z) + polynomial);
        return x >= 0 ? r : 2 - r;
    }
}
