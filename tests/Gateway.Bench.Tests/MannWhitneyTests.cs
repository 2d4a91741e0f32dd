using Gateway.Benchmarks.Check;

namespace Gateway.Bench.Tests;

public class MannWhitneyTests
{
    [Fact]
    public void PGreater_AllOfYAboveAllOfX_IsOneOrderingInAll()
    {
        // 3 and 3 values: C(6, 3) = 20 orderings, one of them puts every y above every x.
        Assert.Equal(1.0 / 20, MannWhitney.PGreater([1, 2, 3], [4, 5, 6]), 12);
        Assert.Equal(1.0, MannWhitney.PGreater([4, 5, 6], [1, 2, 3]), 12);
    }

    [Fact]
    public void U_CountsPairsWithTiesAsHalves()
    {
        Assert.Equal(9, MannWhitney.U([1, 2, 3], [4, 5, 6]));
        Assert.Equal(4.5, MannWhitney.U([1, 2, 3], [1, 2, 3]));
    }

    [Fact]
    public void ExactDistribution_MatchesEnumeratingEveryOrdering()
    {
        // 4 x's and 5 y's among the ranks 0..8: every choice of the x ranks is one ordering.
        const int m = 4, n = 5;
        var uCounts = new int[(m * n) + 1];
        int orderings = 0;
        foreach (int[] xRanks in Choose(Enumerable.Range(0, m + n).ToArray(), m))
        {
            int[] yRanks = Enumerable.Range(0, m + n).Except(xRanks).ToArray();
            uCounts[(int)MannWhitney.U(xRanks.Select(r => (double)r).ToArray(), yRanks.Select(r => (double)r).ToArray())]++;
            orderings++;
        }

        Assert.Equal(126, orderings);
        for (int u = 0; u <= m * n; u++)
        {
            double expected = uCounts.Skip(u).Sum() / (double)orderings;
            Assert.Equal(expected, MannWhitney.ExactPGreater(m, n, u), 12);
        }
    }

    [Fact]
    public void NormalApproximation_IsCloseToTheExactDistribution_ForLargeSamples()
    {
        // 60 x 60 values is past the exact method's limit: PGreater takes the normal approximation.
        double[] x = Enumerable.Range(0, 60).Select(i => (double)(2 * i)).ToArray();
        double[] y = Enumerable.Range(0, 60).Select(i => (2 * i) + 9.5).ToArray();
        double u = MannWhitney.U(x, y);

        Assert.Equal(MannWhitney.ExactPGreater(60, 60, u), MannWhitney.PGreater(x, y), 3);
    }

    [Fact]
    public void IdenticalSamples_AreNoEvidence()
    {
        double[] sample = [211.61, 222.58, 223.16, 211.68, 209.54, 219.76, 216.59, 206.25, 211.17];

        double p = MannWhitney.PGreater(sample, sample);

        Assert.InRange(p, 0.5, 0.6);
        Assert.Equal(1.0, MannWhitney.PGreater([5, 5, 5], [5, 5]));
    }

    [Fact]
    public void Erfc_KnownValues()
    {
        Assert.Equal(1.0, MannWhitney.Erfc(0), 6);
        Assert.Equal(0.157299207, MannWhitney.Erfc(1), 6);
        Assert.Equal(1.842700793, MannWhitney.Erfc(-1), 6);
        Assert.Equal(0.004677735, MannWhitney.Erfc(2), 6);
    }

    private static IEnumerable<int[]> Choose(int[] items, int k)
    {
        if (k == 0)
        {
            yield return [];
            yield break;
        }

        for (int i = 0; i <= items.Length - k; i++)
        {
            foreach (int[] rest in Choose(items[(i + 1)..], k - 1))
            {
                yield return [items[i], .. rest];
            }
        }
    }
}
