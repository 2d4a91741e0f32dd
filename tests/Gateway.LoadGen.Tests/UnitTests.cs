namespace Gateway.LoadGen.Tests;

public class BackoffTests
{
    [Fact]
    public void NoJitterSideDoublesUpToTheMax()
    {
        // rand = 0: floor(0 * 10) is even and the deviation is 0.
        var b = new Backoff(random: () => 0.0);
        Assert.Equal([1000, 2000, 4000, 5000, 5000], Enumerable.Range(0, 5).Select(_ => b.Duration()));
    }

    [Fact]
    public void OddTenthAddsTheFlooredDeviation()
    {
        // rand = 0.15: floor(1.5) = 1 is odd, so ms + floor(0.15 * 0.5 * ms).
        var b = new Backoff(random: () => 0.15);
        Assert.Equal([1075, 2150, 4300, 5000], Enumerable.Range(0, 4).Select(_ => b.Duration()));
    }

    [Fact]
    public void EvenTenthSubtractsTheFlooredDeviation()
    {
        // rand = 0.25: floor(2.5) = 2 is even, so ms - floor(0.125 * ms); 0.3333: floor(0.16665 * 1000) = 166.
        var b = new Backoff(random: () => 0.25);
        Assert.Equal([875, 1750, 3500, 5000], Enumerable.Range(0, 4).Select(_ => b.Duration()));
        var c = new Backoff(random: () => 0.3333);
        Assert.Equal(1166, c.Duration());
    }

    [Fact]
    public void ResetStartsOverAfterASuccessfulReconnect()
    {
        var b = new Backoff(random: () => 0.0);
        b.Duration();
        b.Duration();
        b.Reset();
        Assert.Equal(0, b.Attempts);
        Assert.Equal(1000, b.Duration());
    }

    [Fact]
    public void FirstDelayStaysWithinHalfASecondOfOneSecond()
    {
        var rng = new Random(42);
        for (int i = 0; i < 1000; i++)
        {
            var b = new Backoff(random: rng.NextDouble);
            int d = b.Duration();
            Assert.InRange(d, 500, 1500);
        }
    }

    [Fact]
    public void MatchesTheJavaScriptFormulaForManyRandomValues()
    {
        var rng = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            double r = rng.NextDouble();
            var b = new Backoff(random: () => r);
            for (int attempt = 0; attempt < 6; attempt++)
            {
                double ms = 1000 * Math.Pow(2, attempt);
                double deviation = Math.Floor(r * 0.5 * ms);
                ms = ((int)Math.Floor(r * 10) & 1) == 0 ? ms - deviation : ms + deviation;
                Assert.Equal((int)Math.Min(ms, 5000), b.Duration());
            }
        }
    }
}

public class HistogramTests
{
    [Fact]
    public void BucketsCoverEveryValueWithSmallRelativeError()
    {
        var rng = new Random(1);
        for (int i = 0; i < 100_000; i++)
        {
            long v = i < 1000 ? i : (long)Math.Exp(rng.NextDouble() * 27);
            int index = Histogram.IndexOf(v);
            Assert.InRange(v, Histogram.LowestOf(index), Histogram.HighestOf(index));
            Assert.True(Histogram.HighestOf(index) - Histogram.LowestOf(index) <= Math.Max(0, v / 64.0), $"bucket of {v} too wide");
        }
    }

    [Fact]
    public void MergeIsExact()
    {
        var rng = new Random(3);
        var all = new Histogram();
        var parts = new[] { new Histogram(), new Histogram(), new Histogram() };
        for (int i = 0; i < 30_000; i++)
        {
            long v = (long)(rng.NextDouble() * rng.NextDouble() * 5_000_000);
            all.Record(v);
            parts[i % 3].Record(v);
        }

        var merged = new Histogram();
        foreach (Histogram p in parts)
        {
            merged.Add(Histogram.FromData(p.ToData())); // through the JSON form, as reports merge
        }

        Assert.Equal(all.TotalCount, merged.TotalCount);
        Assert.Equal(all.Min, merged.Min);
        Assert.Equal(all.Max, merged.Max);
        Assert.Equal(all.Mean, merged.Mean, 9);
        foreach (double q in new[] { 0, 1, 50, 90, 99, 99.9, 99.99, 100 })
        {
            Assert.Equal(all.ValueAt(q), merged.ValueAt(q));
        }

        Assert.Equal(all.ToData().Buckets.SelectMany(b => b), merged.ToData().Buckets.SelectMany(b => b));
    }

    [Fact]
    public void PercentilesOfAKnownDistribution()
    {
        var h = new Histogram();
        for (int i = 1; i <= 100; i++)
        {
            h.Record(i);
        }

        Assert.Equal(50, h.ValueAt(50));
        Assert.Equal(99, h.ValueAt(99));
        Assert.Equal(100, h.ValueAt(100));
        Assert.Equal(1, h.Min);
    }

    [Fact]
    public async Task RecordingFromManyThreadsLosesNothing()
    {
        var h = new Histogram();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                h.Record(i);
            }
        })));
        Assert.Equal(80_000, h.TotalCount);
        Assert.Equal(9_999, h.Max);
    }
}

public class ReportTests
{
    private static Report Sample(int seed)
    {
        var rng = new Random(seed);
        var latency = new Histogram();
        for (int i = 0; i < 500; i++)
        {
            latency.Record(rng.Next(100, 200_000));
        }

        return new Report
        {
            Scenario = "broadcast",
            Target = "http://127.0.0.1:3000/",
            StartedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000 + seed),
            DurationSeconds = 12.5,
            Connections = 1000,
            PeakConnected = 990,
            Connects = 1000,
            Errors = new Dictionary<string, long> { ["refused"] = 3, ["http-503"] = 7 },
            Latency = latency.ToData(),
            ConnectTime = latency.ToData(),
            Prompts =
            [
                new PromptReport { Id = "p-1", Index = 1, Expected = 990, Received = 989, Duplicates = 1, OutOfOrder = 2, PublishedAtMs = 1_700_000_000_123, Latency = latency.ToData() },
            ],
            Timeline = [new TimelinePoint { Second = 1, Connected = 500, NewConnections = 500, CpuPercent = 12.5, RssBytes = 1 << 26 }],
            Process = new ProcessFigures { CpuSeconds = 1.5, CpuPercent = 12, PeakRssBytes = 1 << 27, PeakSockets = 990, RssAtPeakSockets = 1 << 27, BaselineRssBytes = 1 << 25 },
            Slo = [new SloResult { Metric = "p99", Limit = 250, Actual = 120.5, Passed = true }],
        };
    }

    [Fact]
    public void JsonRoundTrips()
    {
        Report r = Sample(1);
        string json = r.ToJson();
        Report back = Report.FromJson(json);
        Assert.Equal(json, back.ToJson());
        Assert.Equal(r.Prompts[0].Missing, back.Prompts[0].Missing);
        Assert.Equal(Histogram.FromData(r.Latency).ValueAt(99), Histogram.FromData(back.Latency).ValueAt(99));
    }

    [Fact]
    public void MergeAddsCountsAndHistograms()
    {
        Report a = Sample(1), b = Sample(2);
        Report merged = Report.MergeAll([Report.FromJson(a.ToJson()), Report.FromJson(b.ToJson())]);
        Assert.Equal(2, merged.Processes);
        Assert.Equal(2000, merged.Connections);
        Assert.Equal(6, merged.Errors["refused"]);
        Assert.Equal(1980, merged.Prompts[0].Expected);
        Assert.Equal(2, merged.Prompts[0].Missing);
        Assert.Equal(1000, merged.Timeline[0].Connected);
        Assert.Equal(a.StartedAt, merged.StartedAt);
        Histogram expected = Histogram.FromData(a.Latency);
        expected.Add(Histogram.FromData(b.Latency));
        Assert.Equal(expected.ToData().Buckets.SelectMany(x => x), merged.Latency.Buckets.SelectMany(x => x));
        Assert.Equal(expected.ValueAt(99.9), Histogram.FromData(merged.Prompts[0].Latency).ValueAt(99.9));
    }

    [Fact]
    public void HtmlIsSelfContained()
    {
        string html = HtmlReport.Render(Sample(1));
        Assert.Contains("<svg", HtmlReport.Render(Sample(1)).Replace("`<svg", "<svg", StringComparison.Ordinal));
        Assert.DoesNotContain("http://cdn", html);
        Assert.DoesNotContain("<script src", html);
    }

    [Fact]
    public void SloBreaksTheExitCode()
    {
        Options o = Options.Parse(["merge", "x.json", "--slo", "p99=1ms,errors=0.5"]);
        Report r = Sample(1);
        r.Slo.Clear();
        Program.EvaluateSlos(o, r);
        Assert.False(r.Slo.Single(s => s.Metric == "p99").Passed);
        Assert.True(r.Slo.Single(s => s.Metric == "errors").Passed);
    }
}

public class OptionsTests
{
    [Fact]
    public void ParsesRangesTimesAndShards()
    {
        Options o = Options.Parse(["broadcast", "--source-ips", "127.0.0.2-127.0.0.100", "--interval", "250ms", "--shard", "1/4", "--slo", "p99=250ms", "--channels", "show-42,vip"]);
        Assert.Equal(99, o.SourceIps.Length);
        Assert.Equal("127.0.0.100", o.SourceIps[^1].ToString());
        Assert.Equal(TimeSpan.FromMilliseconds(250), o.Interval);
        Assert.Equal((1, 4), (o.ShardIndex, o.ShardCount));
        Assert.Equal(("p99", 250.0), o.Slos[0]);
        Assert.Equal(["show-42", "vip"], o.Channels);
        Assert.Equal("http://127.0.0.1:3001/v1/publish", o.EffectivePublishUrl.ToString());
    }

    [Fact]
    public void RemoteTargetsNeedAllowRemote()
    {
        Assert.Throws<ArgumentException>(() => LocalRun.ResolveTarget(Options.Parse(["connect", "--url", "http://10.1.2.3:3000"])));
        Assert.Equal(3000, LocalRun.ResolveTarget(Options.Parse(["connect", "--url", "http://127.0.0.5:3000"])).Port);
    }

    [Fact]
    public void TimestampLooksLikeEngineIOs()
    {
        string t = VirtualClient.RandomString();
        Assert.Matches("^[0-9a-z]{8,}$", t);
    }
}
