using Gateway.Benchmarks.Check;

namespace Gateway.Bench.Tests;

public class GateComparerTests
{
    private static readonly GateOptions s_options = new(Tolerance: 0.25, FastTolerance: 1.0, FastThresholdNs: 10);

    // A class with a baseline case (100 ns) and a case at ratio 2 (200 ns), both allocation-free.
    private static List<BenchResult> Run(double caseNs = 200, long caseBytes = 0, double baselineNs = 100, long baselineBytes = 0) =>
    [
        new("FanOutBenchmarks", "BarePipeWrite", "Connections=100", baselineNs, baselineBytes, IsBaseline: true),
        new("FanOutBenchmarks", "PublishAndPump", "Connections=100", caseNs, caseBytes, IsBaseline: false),
    ];

    private static BaselineFile Committed() => GateComparer.ToBaseline(Run(), "test", "today");

    private static GateRow Row(IReadOnlyList<GateRow> rows, string method) => rows.Single(r => r.Key.Contains(method, StringComparison.Ordinal));

    [Fact]
    public void Compare_SameFigures_Passes()
    {
        IReadOnlyList<GateRow> rows = GateComparer.Compare(Run(), Committed(), s_options);

        Assert.All(rows, r => Assert.Equal(Verdict.Pass, r.Verdict));
        Assert.DoesNotContain(rows, r => r.Failed);
    }

    [Fact]
    public void Compare_EightMoreBytesPerOperation_FailsOnAllocation()
    {
        IReadOnlyList<GateRow> rows = GateComparer.Compare(Run(caseBytes: 8), Committed(), s_options);

        GateRow row = Row(rows, "PublishAndPump");
        Assert.Equal(Verdict.AllocationRegression, row.Verdict);
        Assert.True(row.Failed);
        Assert.Contains("+8 B/op", row.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void Compare_BaselineCaseAllocating_FailsToo()
    {
        IReadOnlyList<GateRow> rows = GateComparer.Compare(Run(baselineBytes: 1), Committed(), s_options);

        Assert.Equal(Verdict.AllocationRegression, Row(rows, "BarePipeWrite").Verdict);
    }

    [Fact]
    public void Compare_FasterMachine_SameRatio_Passes()
    {
        // Everything twice as fast (a quieter machine): ratios unchanged, so nothing to report.
        IReadOnlyList<GateRow> rows = GateComparer.Compare(Run(caseNs: 100, baselineNs: 50), Committed(), s_options);

        Assert.DoesNotContain(rows, r => r.Failed);
    }

    [Fact]
    public void Compare_RatioWithinTolerance_Passes()
    {
        // 2.0 -> 2.4: +20 %, inside 25 %.
        IReadOnlyList<GateRow> rows = GateComparer.Compare(Run(caseNs: 240), Committed(), s_options);

        Assert.Equal(Verdict.Pass, Row(rows, "PublishAndPump").Verdict);
    }

    [Fact]
    public void Compare_RatioBeyondTolerance_FailsOnTime()
    {
        // 2.0 -> 2.6: +30 %, beyond 25 %, even though the machine (the baseline case) is as fast as before.
        IReadOnlyList<GateRow> rows = GateComparer.Compare(Run(caseNs: 260), Committed(), s_options);

        GateRow row = Row(rows, "PublishAndPump");
        Assert.Equal(Verdict.TimeRegression, row.Verdict);
        Assert.True(row.Failed);
    }

    [Fact]
    public void Compare_ToleranceIsConfigurable()
    {
        IReadOnlyList<GateRow> rows = GateComparer.Compare(Run(caseNs: 260), Committed(), s_options with { Tolerance = 0.5 });

        Assert.Equal(Verdict.Pass, Row(rows, "PublishAndPump").Verdict);
    }

    [Fact]
    public void Compare_SubTenNanosecondCase_GetsTheWideTolerance()
    {
        List<BenchResult> committedRun =
        [
            new("MaskBenchmarks", "Scalar", "Size=16", 8, 0, IsBaseline: true),
            new("MaskBenchmarks", "Apply", "Size=16", 12, 0, IsBaseline: false),
        ];
        BaselineFile committed = GateComparer.ToBaseline(committedRun, "test", "today");

        // 1.5 -> 2.5 (+67 %): noise at this scale, inside the 100 % fast tolerance.
        IReadOnlyList<GateRow> noisy = GateComparer.Compare([committedRun[0], committedRun[1] with { Ns = 20 }], committed, s_options);
        // 1.5 -> 3.5 (+133 %): beyond even the fast tolerance.
        IReadOnlyList<GateRow> slower = GateComparer.Compare([committedRun[0], committedRun[1] with { Ns = 28 }], committed, s_options);

        Assert.Equal(Verdict.Pass, Row(noisy, "Apply").Verdict);
        Assert.Equal(1.0, Row(noisy, "Apply").Tolerance);
        Assert.Equal(Verdict.TimeRegression, Row(slower, "Apply").Verdict);
    }

    [Fact]
    public void Compare_CaseMissingFromRun_Fails_AndNewCasePasses()
    {
        BaselineFile committed = Committed();
        List<BenchResult> run =
        [
            Run()[0],
            new("FanOutBenchmarks", "Renamed", "Connections=100", 200, 0, IsBaseline: false),
        ];

        IReadOnlyList<GateRow> rows = GateComparer.Compare(run, committed, s_options);

        Assert.Equal(Verdict.Missing, Row(rows, "PublishAndPump").Verdict);
        Assert.Equal(Verdict.New, Row(rows, "Renamed").Verdict);
        Assert.Contains(rows, r => r.Failed);
    }

    [Fact]
    public void Compare_LessAllocation_IsImprovedNotFailed()
    {
        BaselineFile committed = GateComparer.ToBaseline(Run(caseBytes: 64), "test", "today");

        IReadOnlyList<GateRow> rows = GateComparer.Compare(Run(caseBytes: 0), committed, s_options);

        Assert.Equal(Verdict.Improved, Row(rows, "PublishAndPump").Verdict);
        Assert.DoesNotContain(rows, r => r.Failed);
    }

    [Fact]
    public void Ratios_AreTakenWithinTheSameParameters()
    {
        List<BenchResult> run =
        [
            new("FanOutBenchmarks", "BarePipeWrite", "Connections=1", 10, 0, IsBaseline: true),
            new("FanOutBenchmarks", "PublishAndPump", "Connections=1", 30, 0, IsBaseline: false),
            new("FanOutBenchmarks", "BarePipeWrite", "Connections=100", 1000, 0, IsBaseline: true),
            new("FanOutBenchmarks", "PublishAndPump", "Connections=100", 2000, 0, IsBaseline: false),
        ];

        IReadOnlyDictionary<string, double> ratios = GateComparer.Ratios(run);

        Assert.Equal(3.0, ratios["FanOutBenchmarks.PublishAndPump(Connections=1)"], 6);
        Assert.Equal(2.0, ratios["FanOutBenchmarks.PublishAndPump(Connections=100)"], 6);
    }

    [Fact]
    public void Compare_ClassTolerance_OverridesTheDefault_ButNotAllocation()
    {
        List<BenchResult> run = Run(caseNs: 500).Select(r => r with { Tolerance = 2.0 }).ToList();
        List<BenchResult> allocating = Run(caseBytes: 8).Select(r => r with { Tolerance = 2.0 }).ToList();

        // 2.0 -> 5.0 (+150 %) passes under a 200 % class tolerance; 8 more bytes still fail.
        Assert.Equal(Verdict.Pass, Row(GateComparer.Compare(run, Committed(), s_options), "PublishAndPump").Verdict);
        Assert.Equal(Verdict.AllocationRegression, Row(GateComparer.Compare(allocating, Committed(), s_options), "PublishAndPump").Verdict);
    }
}
