using Gateway.Benchmarks;
using Gateway.Benchmarks.Check;

namespace Gateway.Bench.Tests;

public class ResultReaderTests
{
    // The shape of BenchmarkDotNet's brief JSON (trimmed to the fields the gate reads).
    private const string Brief = """
        {"Benchmarks":[
          {"Namespace":"Gateway.Benchmarks.Protocol","Type":"WebSocketMaskBenchmarks","Method":"Scalar","Parameters":"Size=16",
           "Statistics":{"OriginalValues":[9.5,9.1,9.9],"Min":9.1,"Median":9.5},"Memory":{"BytesAllocatedPerOperation":0}},
          {"Namespace":"Gateway.Benchmarks.Broadcast","Type":"PublishBenchmarks","Method":"Publish","Parameters":"",
           "Statistics":{"OriginalValues":[800,820,790,810],"Min":790,"Median":805},"Memory":{"BytesAllocatedPerOperation":224}},
          {"Namespace":"Gateway.Benchmarks.Protocol","Type":"WebSocketMaskBenchmarks","Method":"Apply","Parameters":"Size=1024",
           "Statistics":null,"Memory":{"BytesAllocatedPerOperation":0}}
        ]}
        """;

    // The full report's measurements: only Workload/Result iterations count, per operation.
    private const string Full = """
        {"Benchmarks":[
          {"Namespace":"Gateway.Benchmarks.Protocol","Type":"WebSocketMaskBenchmarks","Method":"Scalar","Parameters":"Size=16",
           "Statistics":{"OriginalValues":[1,2,3]},"Memory":{"BytesAllocatedPerOperation":0},
           "Measurements":[
             {"IterationMode":"Overhead","IterationStage":"Actual","Operations":1000,"Nanoseconds":1500},
             {"IterationMode":"Workload","IterationStage":"Warmup","Operations":1000,"Nanoseconds":12000},
             {"IterationMode":"Workload","IterationStage":"Result","Operations":1000,"Nanoseconds":9100},
             {"IterationMode":"Workload","IterationStage":"Result","Operations":1000,"Nanoseconds":9300}]}
        ]}
        """;

    [Fact]
    public void Parse_ReadsEveryIteration_TheMedian_TheAllocation_AndTheClassTolerance_SkipsFailedCases()
    {
        IReadOnlyList<BenchResult> results = ResultReader.Parse(Brief, typeof(Samples).Assembly);

        Assert.Equal(2, results.Count);
        Assert.Equal("WebSocketMaskBenchmarks.Scalar(Size=16)", results[0].Key);
        Assert.Equal([9.5, 9.1, 9.9], results[0].Samples);
        Assert.Equal(9.5, results[0].Ns);
        Assert.Null(results[0].Tolerance);
        Assert.Equal("PublishBenchmarks.Publish", results[1].Key);
        Assert.Equal(805, results[1].Ns);
        Assert.Equal(224, results[1].AllocatedBytes);
        Assert.Equal(1.0, results[1].Tolerance);
    }

    [Fact]
    public void Parse_FullReport_TakesTheResultMeasurements()
    {
        BenchResult result = Assert.Single(ResultReader.Parse(Full, typeof(Samples).Assembly));

        Assert.Equal([9.1, 9.3], result.Samples);
    }

    [Fact]
    public void ReadDirectory_PoolsTheRunsOfACase_AndReadsOneReportPerRun()
    {
        string root = Path.Combine(Path.GetTempPath(), $"gate-reader-{Guid.NewGuid():N}");
        try
        {
            // Two runs of the class; the first also has a full report of the same iterations, read once.
            Write(Path.Combine(root, "r1", "WebSocketMaskBenchmarks", "results", "Gateway.Benchmarks.Protocol.WebSocketMaskBenchmarks-report-brief.json"), Brief);
            Write(Path.Combine(root, "r1", "WebSocketMaskBenchmarks", "results", "Gateway.Benchmarks.Protocol.WebSocketMaskBenchmarks-report-full.json"), Brief);
            Write(Path.Combine(root, "r2", "WebSocketMaskBenchmarks", "results", "Gateway.Benchmarks.Protocol.WebSocketMaskBenchmarks-report-brief.json"), Brief.Replace("9.5,9.1,9.9", "10.5,10.1", StringComparison.Ordinal));
            AllocationProbe.Save(new Dictionary<string, long> { ["WebSocketMaskBenchmarks.Scalar(Size=16)"] = 0, ["PublishBenchmarks.Publish"] = 224 }, Path.Combine(root, AllocationProbe.FileName));

            IReadOnlyList<BenchResult> results = ResultReader.ReadDirectory(root, typeof(Samples).Assembly);

            BenchResult scalar = results.Single(r => r.Method == "Scalar");
            Assert.Equal([9.5, 9.1, 9.9, 10.5, 10.1], scalar.Samples);
            Assert.Equal(9.9, scalar.Ns);
            Assert.Equal(8, results.Single(r => r.Method == "Publish").Samples.Count);
            Assert.Equal(224, results.Single(r => r.Method == "Publish").DiagnoserBytes);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Load_ReadsABaselineFileOfTheOldFormat_WithoutACommit()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """
                {"machine":"vm","date":"2026-12-02 19:05 UTC","benchmarks":[
                  {"key":"EngineIOPacketBenchmarks.CopyOnly","ns":4.735,"ratio":1,"allocatedBytes":0,"isBaseline":true}]}
                """);

            BaselineFile file = GateCommand.Load(path);

            Assert.Null(file.Commit);
            Assert.Equal(new BaselineEntry("EngineIOPacketBenchmarks.CopyOnly", 4.735, 0), Assert.Single(file.Benchmarks));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void CaseKeys_MatchBenchmarkDotNetSpelling()
    {
        Assert.Contains(BenchmarkCase.All(typeof(Samples).Assembly), c => c.Key == "FanOutBenchmarks.PublishAndPump(Connections=10000&Output=Pipe)");
        Assert.Contains(BenchmarkCase.All(typeof(Samples).Assembly), c => c.Key == "WebSocketMaskBenchmarks.Scalar(Size=16)");
    }

    [Fact]
    public void CaseFilters_SpellParametersAsBenchmarkDotNetFullNamesDo()
    {
        // bench/check runs each case alone with --filter; BenchmarkDotNet matches it against "Type.Method(Name: value, ...)".
        IReadOnlyList<BenchmarkCase> cases = BenchmarkCase.All(typeof(Samples).Assembly);

        Assert.Equal("*.FanOutBenchmarks.PublishAndPump(Connections: 10000, Output: Pipe)", cases.Single(c => c.Key == "FanOutBenchmarks.PublishAndPump(Connections=10000&Output=Pipe)").Filter);
        Assert.Equal("*.SocketIOPacketBenchmarks.EncodeTextEvent", cases.Single(c => c.Key == "SocketIOPacketBenchmarks.EncodeTextEvent").Filter);
        Assert.Equal(cases.Count, cases.Select(c => c.Filter).Distinct().Count());
    }

    private static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
