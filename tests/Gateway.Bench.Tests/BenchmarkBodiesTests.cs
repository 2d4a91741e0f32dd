using Gateway.Benchmarks;
using Gateway.Benchmarks.Check;

namespace Gateway.Bench.Tests;

/// <summary>Every benchmark body runs once, with every parameter value, so a benchmark cannot rot unnoticed (STYLE §7).</summary>
public class BenchmarkBodiesTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (BenchmarkCase c in BenchmarkCase.All(typeof(Samples).Assembly))
        {
            data.Add(c.Key);
        }

        return data;
    }

    private static BenchmarkCase Find(string key) => BenchmarkCase.All(typeof(Samples).Assembly).Single(c => c.Key == key);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Body_RunsOnce(string key)
    {
        using BenchmarkCase.Instance instance = Find(key).Create();

        instance.Invoke();
    }

    [Fact]
    public void EveryClass_HasOneBaselinePerParameterSet()
    {
        foreach (IGrouping<string, BenchmarkCase> group in BenchmarkCase.All(typeof(Samples).Assembly).GroupBy(c => $"{c.Type.Name}|{c.Parameters}"))
        {
            Assert.True(group.Count(c => c.IsBaseline) == 1, $"{group.Key}: needs exactly one Baseline = true case");
        }
    }

    [Theory]
    [InlineData("FanOutBenchmarks.PublishAndPump(Connections=100&Output=Null)")]
    [InlineData("FanOutBenchmarks.PublishAndPump(Connections=100&Output=Pipe)")]
    public void FanOut_AllocatesNothingPerPrompt(string key)
    {
        using BenchmarkCase.Instance instance = Find(key).Create();

        Assert.Equal(0, instance.MeasureAllocatedBytesPerOperation(warmup: 20, calls: 50));
    }

    [Fact]
    public void PromptLifecycle_AllocatesOneSmallRecordPerPrompt_NothingPerRecipient()
    {
        using BenchmarkCase.Instance untracked = Find("PromptLifecycleBenchmarks.Untracked").Create();
        using BenchmarkCase.Instance tracked = Find("PromptLifecycleBenchmarks.Tracked").Create();

        Assert.Equal(0, untracked.MeasureAllocatedBytesPerOperation(warmup: 5, calls: 20));
        // One record per prompt (about 150 B), whatever the 10,000 recipients: 0 B per recipient.
        Assert.InRange(tracked.MeasureAllocatedBytesPerOperation(warmup: 5, calls: 20), 1, 256);
    }
}
