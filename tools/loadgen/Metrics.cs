using System.Collections.Concurrent;

namespace Gateway.LoadGen;

/// <summary>Per-prompt delivery figures, updated lock-free by every client that receives the prompt.</summary>
public sealed class PromptStats
{
    public Histogram Latency { get; } = new();

    public long Received;
    public long Duplicates;
    public long OutOfOrder;

    /// <summary>Unix ms when this process published it (0 when published elsewhere).</summary>
    public long PublishedAtMs;
}

/// <summary>Counters shared by all virtual clients of one process.</summary>
public sealed class Metrics
{
    private readonly ConcurrentDictionary<string, long> _errors = new();
    private long _offsetSumUs;
    private long _offsetCount;

    public Metrics(int prompts)
    {
        Prompts = new PromptStats[prompts];
        for (int i = 0; i < prompts; i++)
        {
            Prompts[i] = new PromptStats();
        }
    }

    public PromptStats[] Prompts { get; }

    public Histogram ConnectTime { get; } = new();

    public Histogram AllLatency { get; } = new();

    public Histogram AckLatency { get; } = new();

    /// <summary>answers: ack latency measured from the intended send time (no coordinated omission).</summary>
    public Histogram AnswerAck { get; } = new();

    public long AnswersSent;
    public long AnswersAcked;

    public long Connected;
    public long Connecting;
    public long PeakConnected;
    public long Connects;
    public long Reconnects;
    public long Recovered;
    public long OnWebSocket;
    public long OnPolling;
    public long UpgradeFailures;
    public long MessagesReceived;
    public long BinaryReceived;
    public long UnexpectedPrompts;

    /// <summary>Prompts published before this process started (a gateway's late-joiner prompt): ignored, not errors.</summary>
    public long EarlierRunPrompts;
    public long PongsSent;
    public long AcksReceived;
    public long ServerDisconnects;

    public IReadOnlyDictionary<string, long> Errors => _errors;

    public long ErrorTotal => _errors.Values.Sum();

    private readonly ConcurrentDictionary<string, string> _samples = new();

    /// <summary>The first message seen for each error kind, to tell what "protocol" or "closed" meant.</summary>
    public IReadOnlyDictionary<string, string> ErrorSamples => _samples;

    public void Error(string kind, string? message = null)
    {
        _errors.AddOrUpdate(kind, 1, (_, v) => v + 1);
        if (message is not null)
        {
            _samples.TryAdd(kind, message);
        }
    }

    public void AddError(string kind, long count) => _errors.AddOrUpdate(kind, count, (_, v) => v + count);

    public void OnConnected()
    {
        long now = Interlocked.Increment(ref Connected);
        long peak;
        while (now > (peak = Volatile.Read(ref PeakConnected)) && Interlocked.CompareExchange(ref PeakConnected, now, peak) != peak)
        {
        }
    }

    public void RecordClockOffset(double offsetMs)
    {
        Interlocked.Add(ref _offsetSumUs, (long)(offsetMs * 1000));
        Interlocked.Increment(ref _offsetCount);
    }

    /// <summary>Mean of the clients' clock offsets to the server (server − local), in ms.</summary>
    public double MeanClockOffsetMs => _offsetCount == 0 ? 0 : _offsetSumUs / 1000.0 / _offsetCount;

    public long ClockSamples => Interlocked.Read(ref _offsetCount);
}
