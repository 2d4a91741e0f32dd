using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gateway.LoadGen;

/// <summary>The machine-readable result of a run (<c>--report out.json</c>). Reports of workers and shards merge exactly.</summary>
public sealed class Report
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>One-line JSON, for the workers' status lines.</summary>
    public static readonly JsonSerializerOptions CompactJsonOptions = new(JsonOptions) { WriteIndented = false };

    public string Tool { get; set; } = "gateway-loadgen";
    public int Version { get; set; } = 1;
    public string Scenario { get; set; } = "connect";
    public string Target { get; set; } = "";
    public string Transport { get; set; } = "polling";
    public DateTimeOffset StartedAt { get; set; }
    public double DurationSeconds { get; set; }
    public int Processes { get; set; } = 1;
    public long Connections { get; set; }
    public long PeakConnected { get; set; }
    public long ConnectedAtEnd { get; set; }
    public long Connects { get; set; }
    public long Reconnects { get; set; }
    public long Recovered { get; set; }
    public long OnWebSocket { get; set; }
    public long OnPolling { get; set; }
    public long UpgradeFailures { get; set; }
    public long MessagesReceived { get; set; }
    public long PongsSent { get; set; }
    public long ServerDisconnects { get; set; }
    public Dictionary<string, long> Errors { get; set; } = [];
    /// <summary>First message seen per error kind (one process's sample; merge keeps the first).</summary>
    public Dictionary<string, string> ErrorSamples { get; set; } = [];
    public HistogramData ConnectTime { get; set; } = new();
    public HistogramData TimeAckRtt { get; set; } = new();
    public HistogramData Latency { get; set; } = new();
    public List<PromptReport> Prompts { get; set; } = [];

    /// <summary>broadcast --burst: one entry per burst, as the publishing process saw it.</summary>
    public List<BurstReport> Bursts { get; set; } = [];
    public List<TimelinePoint> Timeline { get; set; } = [];
    public ProcessFigures Process { get; set; } = new();
    public StormReport? Storm { get; set; }
    public AnswersReport? Answers { get; set; }
    public CapacityReport? Capacity { get; set; }
    public List<SloResult> Slo { get; set; } = [];

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static Report FromJson(string json) => JsonSerializer.Deserialize<Report>(json, JsonOptions) ?? throw new InvalidDataException("empty report");

    /// <summary>Adds another process's or shard's report: counts add, histograms merge, timelines add per second.</summary>
    public void Merge(Report other)
    {
        if (Processes == 0)
        {
            Scenario = other.Scenario;
            Target = other.Target;
            Transport = other.Transport;
            StartedAt = other.StartedAt;
        }
        else if (other.StartedAt < StartedAt)
        {
            StartedAt = other.StartedAt;
        }

        DurationSeconds = Math.Max(DurationSeconds, other.DurationSeconds);
        Processes += other.Processes;
        Connections += other.Connections;
        PeakConnected += other.PeakConnected;
        ConnectedAtEnd += other.ConnectedAtEnd;
        Connects += other.Connects;
        Reconnects += other.Reconnects;
        Recovered += other.Recovered;
        OnWebSocket += other.OnWebSocket;
        OnPolling += other.OnPolling;
        UpgradeFailures += other.UpgradeFailures;
        MessagesReceived += other.MessagesReceived;
        PongsSent += other.PongsSent;
        ServerDisconnects += other.ServerDisconnects;
        foreach ((string k, long v) in other.Errors)
        {
            Errors[k] = Errors.GetValueOrDefault(k) + v;
        }

        foreach ((string k, string v) in other.ErrorSamples)
        {
            ErrorSamples.TryAdd(k, v);
        }

        ConnectTime = MergeHistograms(ConnectTime, other.ConnectTime);
        TimeAckRtt = MergeHistograms(TimeAckRtt, other.TimeAckRtt);
        Latency = MergeHistograms(Latency, other.Latency);
        foreach (PromptReport p in other.Prompts)
        {
            PromptReport? mine = Prompts.Find(x => x.Id == p.Id);
            if (mine is null)
            {
                Prompts.Add(Clone(p));
                continue;
            }

            mine.Expected += p.Expected;
            mine.Received += p.Received;
            mine.Duplicates += p.Duplicates;
            mine.OutOfOrder += p.OutOfOrder;
            mine.PublishedAtMs = Math.Max(mine.PublishedAtMs, p.PublishedAtMs);
            mine.Latency = MergeHistograms(mine.Latency, p.Latency);
        }

        Prompts.Sort((a, b) => a.Index.CompareTo(b.Index));
        for (int i = 0; i < other.Timeline.Count; i++)
        {
            if (i >= Timeline.Count)
            {
                Timeline.Add(new TimelinePoint { Second = other.Timeline[i].Second });
            }

            Timeline[i].Add(other.Timeline[i]);
        }

        Process.Add(other.Process);
        if (other.Answers is not null)
        {
            Answers ??= new AnswersReport();
            Answers.Sent += other.Answers.Sent;
            Answers.Acked += other.Answers.Acked;
            Answers.AckLatency = MergeHistograms(Answers.AckLatency, other.Answers.AckLatency);
        }

        if (other.Storm is not null)
        {
            Storm ??= new StormReport();
            Storm.Add(other.Storm);
        }
    }

    public static Report MergeAll(IEnumerable<Report> reports)
    {
        var merged = new Report { Processes = 0 };
        foreach (Report r in reports)
        {
            merged.Merge(r);
        }

        return merged;
    }

    private static PromptReport Clone(PromptReport p) => new()
    {
        Id = p.Id,
        Index = p.Index,
        PublishedAtMs = p.PublishedAtMs,
        Expected = p.Expected,
        Received = p.Received,
        Duplicates = p.Duplicates,
        OutOfOrder = p.OutOfOrder,
        Latency = MergeHistograms(new HistogramData(), p.Latency),
    };

    private static HistogramData MergeHistograms(HistogramData a, HistogramData b)
    {
        Histogram h = Histogram.FromData(a);
        h.Add(Histogram.FromData(b));
        return h.ToData();
    }
}

public sealed class PromptReport
{
    public string Id { get; set; } = "";
    public int Index { get; set; }
    public long PublishedAtMs { get; set; }
    /// <summary>Sockets that were connected when it was published and so should have it.</summary>
    public long Expected { get; set; }
    public long Received { get; set; }
    public long Duplicates { get; set; }
    public long OutOfOrder { get; set; }

    public long Missing => Math.Max(0, Expected - Received);

    public HistogramData Latency { get; set; } = new();
}

/// <summary>
/// One burst: prompts <see cref="FirstIndex"/>…<see cref="LastIndex"/>, all stamped with <see cref="StartMs"/> (server
/// clock) as sentAt. <see cref="PublishMs"/> is how long the publishes took one after the other (each waits for the
/// server's answer), so a slow publish path shows here rather than only as a slow burst.
/// </summary>
public sealed class BurstReport
{
    public int Round { get; set; }
    public int FirstIndex { get; set; }
    public int LastIndex { get; set; }
    public long StartMs { get; set; }
    public double PublishMs { get; set; }
    public List<double> PublishEachMs { get; set; } = [];
}

public sealed class TimelinePoint
{
    public int Second { get; set; }
    public long Connected { get; set; }
    public long Connecting { get; set; }
    public long NewConnections { get; set; }
    public long Errors { get; set; }
    public long Messages { get; set; }
    public double CpuPercent { get; set; }
    public long RssBytes { get; set; }

    public void Add(TimelinePoint o)
    {
        Connected += o.Connected;
        Connecting += o.Connecting;
        NewConnections += o.NewConnections;
        Errors += o.Errors;
        Messages += o.Messages;
        CpuPercent += o.CpuPercent;
        RssBytes += o.RssBytes;
    }
}

/// <summary>The generator's own cost, so a saturated generator shows in the report.</summary>
public sealed class ProcessFigures
{
    public double CpuSeconds { get; set; }
    public double WallSeconds { get; set; }
    /// <summary>CPU seconds / wall seconds × 100 (100 = one core), summed over processes.</summary>
    public double CpuPercent { get; set; }
    public long PeakRssBytes { get; set; }
    public long RssAtPeakSockets { get; set; }
    public long BaselineRssBytes { get; set; }
    public long PeakSockets { get; set; }
    public long GcHeapBytes { get; set; }
    /// <summary>Managed bytes still reachable after a full collection at the end, with every socket still open.</summary>
    public long LiveHeapBytes { get; set; }
    /// <summary>RSS right after that full collection.</summary>
    public long RssAfterGcBytes { get; set; }

    /// <summary>(RSS at the peak socket count − RSS before the first socket) / peak sockets.</summary>
    public double RssPerSocketBytes => PeakSockets == 0 ? 0 : (RssAtPeakSockets - BaselineRssBytes) / (double)PeakSockets;

    /// <summary>Live managed bytes per socket (what a socket costs once garbage is gone).</summary>
    public double LiveHeapPerSocketBytes => PeakSockets == 0 ? 0 : LiveHeapBytes / (double)PeakSockets;

    public void Add(ProcessFigures o)
    {
        CpuSeconds += o.CpuSeconds;
        WallSeconds = Math.Max(WallSeconds, o.WallSeconds);
        CpuPercent += o.CpuPercent;
        PeakRssBytes += o.PeakRssBytes;
        RssAtPeakSockets += o.RssAtPeakSockets;
        BaselineRssBytes += o.BaselineRssBytes;
        PeakSockets += o.PeakSockets;
        GcHeapBytes += o.GcHeapBytes;
        LiveHeapBytes += o.LiveHeapBytes;
        RssAfterGcBytes += o.RssAfterGcBytes;
    }
}

/// <summary>capacity: one broadcast run per level, stopping at the first that breaks the SLO.</summary>
public sealed class CapacityReport
{
    /// <summary>The highest socket count whose run held every SLO; 0 when none did.</summary>
    public long HighestHeld { get; set; }
    public List<CapacityStep> Steps { get; set; } = [];
}

public sealed class CapacityStep
{
    public long Connections { get; set; }
    public long Connected { get; set; }
    public double P99Ms { get; set; }
    public double MaxMs { get; set; }
    public long Errors { get; set; }
    public long Missing { get; set; }
    public double GeneratorCpuPercent { get; set; }
    public bool Held { get; set; }
    public List<SloResult> Slo { get; set; } = [];
}

public sealed class AnswersReport
{
    public long Sent { get; set; }
    public long Acked { get; set; }

    public long Unacked => Math.Max(0, Sent - Acked);

    /// <summary>From the intended send time (prompt receipt + think time) to the ack.</summary>
    public HistogramData AckLatency { get; set; } = new();
}

public sealed class StormReport
{
    public long Dropped { get; set; }
    public long BackWithin { get; set; }
    public double SecondsTo99Percent { get; set; } = -1;
    public long Recovered { get; set; }

    public void Add(StormReport o)
    {
        Dropped += o.Dropped;
        BackWithin += o.BackWithin;
        SecondsTo99Percent = Math.Max(SecondsTo99Percent, o.SecondsTo99Percent);
        Recovered += o.Recovered;
    }
}

public sealed class SloResult
{
    public string Metric { get; set; } = "";
    public double Limit { get; set; }
    public double Actual { get; set; }
    public bool Passed { get; set; }
}
