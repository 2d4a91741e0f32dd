using Gateway.Benchmarks;
using Gateway.Benchmarks.Check;

namespace Gateway.Bench.Tests;

public class ResultReaderTests
{
    // The shape of BenchmarkDotNet's brief JSON (trimmed to the fields the gate reads).
    private const string Json = """
        {"Benchmarks":[
          {"Namespace":"Gateway.Benchmarks.Protocol","Type":"WebSocketMaskBenchmarks","Method":"Scalar","Parameters":"Size=16",
           "Statistics":{"Min":9.1,"Median":9.5,"Mean":9.9},"Memory":{"BytesAllocatedPerOperation":0}},
          {"Namespace":"Gateway.Benchmarks.Protocol","Type":"WebSocketMaskBenchmarks","Method":"Apply","Parameters":"Size=16",
           "Statistics":{"Min":1.8,"Median":1.9,"Mean":2.0},"Memory":{"BytesAllocatedPerOperation":8}},
          {"Namespace":"Gateway.Benchmarks.Protocol","Type":"WebSocketMaskBenchmarks","Method":"Apply","Parameters":"Size=1024",
           "Statistics":null,"Memory":{"BytesAllocatedPerOperation":0}}
        ]}
        """;

    [Fact]
    public void Parse_ReadsMedianAllocationAndBaselineFlag_SkipsFailedCases()
    {
        IReadOnlyList<BenchResult> results = ResultReader.Parse(Json, typeof(Samples).Assembly);

        Assert.Equal(2, results.Count);
        Assert.Equal("WebSocketMaskBenchmarks.Scalar(Size=16)", results[0].Key);
        Assert.True(results[0].IsBaseline);
        Assert.False(results[1].IsBaseline);
        Assert.Equal(1.8, results[1].Ns);
        Assert.Equal(8, results[1].AllocatedBytes);
    }

    [Fact]
    public void CaseKeys_MatchBenchmarkDotNetSpelling()
    {
        Assert.Contains(BenchmarkCase.All(typeof(Samples).Assembly), c => c.Key == "FanOutBenchmarks.PublishAndPump(Connections=10000&Output=Pipe)");
        Assert.Contains(BenchmarkCase.All(typeof(Samples).Assembly), c => c.Key == "WebSocketMaskBenchmarks.Scalar(Size=16)");
    }
}
