using Gateway.Benchmarks.Check;

namespace Gateway.Bench.Tests;

public class GateComparerTests
{
    private static readonly GateOptions s_options = new(Tolerance: 0.25, FastTolerance: 1.0, FastThresholdNs: 20, Alpha: 0.01);

    // Real iterations (ns/op) of the gate's short job on this 2-core shared VM: two runs of the same code, minutes
    // apart, while another engineer's builds ran.
    private static readonly double[] s_jsonReaderPass = [211.61, 222.58, 223.16, 211.68, 209.54, 219.76, 216.59, 206.25, 211.17];
    private static readonly double[] s_parseTextRun1 = [291.97, 312.34, 374.93, 445.8, 524.62, 356.1, 318.11, 402.16, 314.06];
    private static readonly double[] s_parseTextRun2 = [433.35, 324.03, 362.37, 460.59, 439.61, 434.08, 431.09];
    private static readonly double[] s_parseBinaryRun1 = [431.98, 355.33, 308.7, 296.23, 306.45, 362.79, 345.23, 301.91];
    private static readonly double[] s_parseBinaryRun2 = [430.24, 458.96, 426.6, 442.39, 482.13, 418.19, 433.23, 384.0];
    private static readonly double[] s_encodeText = [19.47, 22.39, 24.66, 25.6, 22.63, 23.36, 27.3, 29.59, 31.47];

    private static double[] Times(double[] samples, double factor) => samples.Select(v => v * factor).ToArray();

    private static BenchResult Case(string method, double[] samples, long bytes = 0, double? tolerance = null) =>
        new("SocketIOPacketBenchmarks", method, "", samples, bytes, Tolerance: tolerance);

    private static BaselineFile Committed(params BenchResult[] results) => GateComparer.ToBaseline(results, "test", "today", "0123abcd");

    private static GateRow Row(IReadOnlyList<GateRow> rows, string method) => rows.Single(r => r.Key == $"SocketIOPacketBenchmarks.{method}");

    private static GateRow CompareOne(double[] baseline, double[] now, long committedBytes = 0, long nowBytes = 0, double? tolerance = null)
    {
        BenchResult before = Case("ParseTextEvent", baseline, committedBytes, tolerance);
        return Row(GateComparer.Compare([Case("ParseTextEvent", now, nowBytes, tolerance)], [before], Committed(before), s_options), "ParseTextEvent");
    }

    [Fact]
    public void IdenticalSamples_Pass()
    {
        TimeTest time = GateComparer.CompareTimes(s_jsonReaderPass, s_jsonReaderPass, 0.25);
        GateRow row = CompareOne(s_jsonReaderPass, s_jsonReaderPass);

        Assert.Equal(1.0, time.Ratio);
        Assert.True(time.PSlower > 0.5);
        Assert.Equal(Verdict.Pass, row.Verdict);
        Assert.False(row.Failed);
    }

    [Fact]
    public void TwiceAsSlow_Fails()
    {
        double[] now = Times(s_jsonReaderPass, 2);

        TimeTest time = GateComparer.CompareTimes(s_jsonReaderPass, now, 0.25);
        GateRow row = CompareOne(s_jsonReaderPass, now);

        // Every one of the 9 iterations above every one raised by 25 %: 1 ordering in C(18, 9) = 48,620.
        Assert.Equal(2.0, time.Ratio, 9);
        Assert.Equal(1.0 / 48620, time.PSlower, 9);
        Assert.Equal(Verdict.TimeRegression, row.Verdict);
        Assert.True(row.Failed);
        Assert.Contains("2.00x", row.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void ShiftUnderTheThreshold_Passes_ThoughAPlainTestCallsItSignificant()
    {
        double[] now = Times(s_jsonReaderPass, 1.2);

        TimeTest time = GateComparer.CompareTimes(s_jsonReaderPass, now, 0.25);

        // A real 20 % shift: certain to a plain Mann-Whitney test, but not beyond the 25 % tolerance.
        Assert.True(MannWhitney.PGreater(s_jsonReaderPass, now) < 0.001);
        Assert.True(time.PSlower > 0.5);
        Assert.Equal(Verdict.Pass, CompareOne(s_jsonReaderPass, now).Verdict);
    }

    [Fact]
    public void NoisyOverlappingSamples_Pass()
    {
        // The same code twice: medians 1.22x and 1.32x apart (the second over the threshold alone), iterations overlapping.
        TimeTest text = GateComparer.CompareTimes(s_parseTextRun1, s_parseTextRun2, 0.25);
        TimeTest binary = GateComparer.CompareTimes(s_parseBinaryRun1, s_parseBinaryRun2, 0.25);

        Assert.Equal(1.22, text.Ratio, 2);
        Assert.Equal(1.32, binary.Ratio, 2);
        Assert.True(binary.PSlower > 0.1, $"p = {binary.PSlower}");
        Assert.Equal(Verdict.Pass, CompareOne(s_parseTextRun1, s_parseTextRun2).Verdict);
        Assert.Equal(Verdict.Pass, CompareOne(s_parseBinaryRun1, s_parseBinaryRun2).Verdict);
    }

    [Fact]
    public void MedianOverTheThreshold_WithTheTestUnsure_Passes_AndSoDoesTheReverse()
    {
        // Only a slowdown both the test and the median agree on fails: here the median alone says 1.32x.
        Assert.False(GateComparer.IsSlower(GateComparer.CompareTimes(s_parseBinaryRun1, s_parseBinaryRun2, 0.25), 0.25, 0.01));
        // The other way round: a plain test (no tolerance) is sure, the median (1.32x) is not over a 50 % threshold.
        TimeTest plain = GateComparer.CompareTimes(s_parseBinaryRun1, s_parseBinaryRun2, 0);
        Assert.True(plain.PSlower < 0.01);
        Assert.False(GateComparer.IsSlower(plain, 0.5, 0.01));
    }

    [Fact]
    public void FasterBeyondTheTolerance_IsImproved()
    {
        GateRow row = CompareOne(s_jsonReaderPass, Times(s_jsonReaderPass, 0.5));

        Assert.Equal(Verdict.Improved, row.Verdict);
        Assert.False(row.Failed);
    }

    [Fact]
    public void EightMoreBytesPerOperation_FailsOnAllocation_WhateverTheTime()
    {
        GateRow row = CompareOne(s_jsonReaderPass, s_jsonReaderPass, committedBytes: 0, nowBytes: 8);

        Assert.Equal(Verdict.AllocationRegression, row.Verdict);
        Assert.True(row.Failed);
        Assert.Contains("+8 B/op", row.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void LessAllocation_IsImprovedNotFailed()
    {
        GateRow row = CompareOne(s_jsonReaderPass, s_jsonReaderPass, committedBytes: 64, nowBytes: 0);

        Assert.Equal(Verdict.Improved, row.Verdict);
        Assert.False(row.Failed);
    }

    [Fact]
    public void WithoutABaselineRun_TimeIsNotCompared_AllocationStillIs()
    {
        // A shallow clone: the baseline commit could not be built, so there is nothing to compare time with.
        BaselineFile committed = Committed(Case("ParseTextEvent", s_jsonReaderPass), Case("EncodeTextEvent", s_encodeText));

        IReadOnlyList<GateRow> rows = GateComparer.Compare(
            [Case("ParseTextEvent", Times(s_jsonReaderPass, 3)), Case("EncodeTextEvent", s_encodeText, bytes: 8)], baselineRun: null, committed, s_options);

        Assert.Equal(Verdict.Pass, Row(rows, "ParseTextEvent").Verdict);
        Assert.Null(Row(rows, "ParseTextEvent").Time);
        Assert.Equal(Verdict.AllocationRegression, Row(rows, "EncodeTextEvent").Verdict);
    }

    [Fact]
    public void FastCases_GetTheWideTolerance_AndNeverFailWhileUnderTheThreshold()
    {
        // EncodeTextEvent at about 12 ns on the baseline side.
        double[] baseline = Times(s_encodeText, 0.5);

        GateRow stillFast = CompareOne(baseline, Times(baseline, 1.6));   // 1.6x, but under 20 ns
        GateRow within = CompareOne(baseline, Times(baseline, 1.8));      // 1.8x: over 20 ns, inside 100 %
        GateRow beyond = CompareOne(baseline, Times(baseline, 2.6));      // 2.6x: beyond even 100 %

        Assert.Equal(Verdict.Pass, stillFast.Verdict);
        Assert.Equal(1.0, within.Tolerance);
        Assert.Equal(Verdict.Pass, within.Verdict);
        Assert.Equal(Verdict.TimeRegression, beyond.Verdict);
    }

    [Fact]
    public void ClassTolerance_OverridesTheDefault_ButNotAllocation()
    {
        // A class marked [GateTolerance(1.0)]: 1.8x passes, 8 more bytes still fail.
        Assert.Equal(Verdict.Pass, CompareOne(s_jsonReaderPass, Times(s_jsonReaderPass, 1.8), tolerance: 1.0).Verdict);
        Assert.Equal(Verdict.AllocationRegression, CompareOne(s_jsonReaderPass, s_jsonReaderPass, nowBytes: 8, tolerance: 1.0).Verdict);
    }

    [Fact]
    public void CasesOnOneSideOnly_AreReported_ButAMissingBaselineCaseFails()
    {
        BaselineFile committed = Committed(Case("ParseTextEvent", s_jsonReaderPass), Case("ParseBinaryEvent", s_jsonReaderPass), Case("EncodeTextEvent", s_encodeText));
        BenchResult[] baselineRun = [Case("ParseTextEvent", s_jsonReaderPass), Case("ParseBinaryEvent", s_jsonReaderPass), Case("OldName", s_jsonReaderPass)];
        BenchResult[] now =
        [
            Case("ParseTextEvent", s_jsonReaderPass),
            Case("NewName", Times(s_jsonReaderPass, 5)),           // new: in neither the baseline run nor the file
            Case("EncodeTextEvent", Times(s_encodeText, 5)),       // in the file, but the baseline commit's run lacks it
        ];

        IReadOnlyList<GateRow> rows = GateComparer.Compare(now, baselineRun, committed, s_options);

        Assert.Equal(Verdict.Missing, Row(rows, "ParseBinaryEvent").Verdict);
        Assert.True(Row(rows, "ParseBinaryEvent").Failed);
        Assert.Equal(Verdict.New, Row(rows, "NewName").Verdict);
        Assert.Equal(Verdict.Pass, Row(rows, "EncodeTextEvent").Verdict);
        Assert.Contains("time not compared", Row(rows, "EncodeTextEvent").Note, StringComparison.Ordinal);
        Assert.Equal(Verdict.BaselineOnly, Row(rows, "OldName").Verdict);
        Assert.Equal(1, rows.Count(r => r.Failed));
    }

    [Fact]
    public void ToBaseline_RecordsTheCommit_AndMedians()
    {
        BaselineFile file = GateComparer.ToBaseline([Case("ParseTextEvent", [3, 1, 2], bytes: 24)], "vm", "today", "7d1e264");

        Assert.Equal("7d1e264", file.Commit);
        Assert.Equal(new BaselineEntry("SocketIOPacketBenchmarks.ParseTextEvent", 2, 24), Assert.Single(file.Benchmarks));
    }
}
