using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Gateway.LoadGen;

/// <summary>A live figure of one process, sent by children to the parent every second.</summary>
public sealed class Status
{
    public long Connected { get; set; }
    public long Connecting { get; set; }
    public long Connects { get; set; }
    public long Errors { get; set; }
    public long Messages { get; set; }
    public long Target { get; set; }
    public bool RampDone { get; set; }
    public double ClockOffsetMs { get; set; }
    public long ClockSamples { get; set; }
    public long P50Us { get; set; }
    public long P99Us { get; set; }
    public long Received { get; set; }
    public long Recovered { get; set; }
    public long AnswersAcked { get; set; }
}

/// <summary>The virtual clients of this process: ramp, watchdog, sampling, and the report at the end.</summary>
public sealed class LocalRun
{
    private readonly Options _o;
    private readonly int _firstId;
    private readonly int _count;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TimelinePoint> _timeline = [];
    private readonly Stopwatch _wall = Stopwatch.StartNew();
    private readonly ProcessFigures _process = new();
    private VirtualClient[] _clients = [];
    private Task[] _tasks = [];
    private Task? _ramp;
    private Task? _sampler;
    private Task? _watchdog;
    private TimeSpan _cpuStart;
    private DateTimeOffset _startedAt;
    private StormReport? _storm;
    private volatile bool _rampDone;

    public LocalRun(Options o, int firstId, int count)
    {
        _o = o;
        _firstId = firstId;
        _count = count;
        Metrics = new Metrics(o.Verb is "broadcast" or "answers" ? o.TotalPrompts : o.Verb == "storm" ? 1 + o.StormPrompts : 0);
    }

    public Metrics Metrics { get; }

    public IReadOnlyList<VirtualClient> Clients => _clients;

    public static IPEndPoint ResolveTarget(Options o)
    {
        IPAddress address = IPAddress.TryParse(o.Url.Host.Trim('[', ']'), out IPAddress? ip)
            ? ip
            : Dns.GetHostAddresses(o.Url.Host).OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1).First();
        if (!o.AllowRemote && !IPAddress.IsLoopback(address))
        {
            throw new ArgumentException($"{o.Url.Host} is not a loopback address; pass --allow-remote to load a remote target");
        }

        return new IPEndPoint(address, o.Url.Port);
    }

    public void Start()
    {
        IPEndPoint target = ResolveTarget(_o);
        var auth = new StringBuilder();
        if (_o.Token is not null)
        {
            auth.Append("\"token\":").Append(JsonSerializer.Serialize(_o.Token));
        }

        if (_o.Channels.Length > 0)
        {
            auth.Append(auth.Length > 0 ? "," : "").Append("\"channels\":").Append(JsonSerializer.Serialize(_o.Channels));
        }

        var ctx = new ClientContext
        {
            Options = _o,
            Metrics = Metrics,
            Target = target,
            HostHeader = Conn.HostHeader(target),
            ConnectAuthPrefix = Encoding.UTF8.GetBytes(auth.ToString()),
            Stopping = _stop.Token,
        };

        GC.Collect();
        _process.BaselineRssBytes = Environment.WorkingSet;
        _cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        _startedAt = DateTimeOffset.UtcNow;
        _clients = new VirtualClient[_count];
        _tasks = new Task[_count];
        int pollingEvery = _o.PollingShare > 0 ? (int)Math.Round(1 / _o.PollingShare) : 0;
        for (int i = 0; i < _count; i++)
        {
            int id = _firstId + i;
            IPAddress? source = _o.SourceIps.Length > 0 ? _o.SourceIps[id % _o.SourceIps.Length] : null;
            bool stay = pollingEvery > 0 && id % pollingEvery == 0;
            _clients[i] = new VirtualClient(ctx, id, source, stay);
            _tasks[i] = Task.CompletedTask;
        }

        _ramp = Task.Run(RampAsync);
        _watchdog = Task.Run(WatchdogAsync);
        _sampler = Task.Run(SampleAsync);
    }

    private async Task RampAsync()
    {
        var clock = Stopwatch.StartNew();
        double perProcessRate = Math.Max(1, _o.Rate / Math.Max(1, _o.Workers * _o.ShardCount));
        for (int i = 0; i < _count && !_stop.IsCancellationRequested; i++)
        {
            double at = _o.Ramp switch
            {
                "spike" => 0,
                "step" => Math.Floor(i / Math.Max(1.0, _count / 10.0)),
                _ => i / perProcessRate,
            };
            double wait = at - clock.Elapsed.TotalSeconds;
            if (wait > 0.002)
            {
                await Task.Delay(TimeSpan.FromSeconds(wait)).ConfigureAwait(false);
            }

            VirtualClient c = _clients[i];
            _tasks[i] = Task.Run(c.RunAsync);
        }

        _rampDone = true;
    }

    // One loop enforces every client's deadline (connect timeout, ping timeout), instead of a timer per socket.
    private async Task WatchdogAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(200, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            long now = Environment.TickCount64;
            foreach (VirtualClient c in _clients)
            {
                long d = c.Deadline;
                if (d != 0 && now > d)
                {
                    c.Fail(new ClientException(c.IsConnected ? "ping-timeout" : "timeout", "deadline passed"));
                }
            }
        }
    }

    private async Task SampleAsync()
    {
        long lastConnects = 0, lastErrors = 0, lastMessages = 0;
        TimeSpan lastCpu = _cpuStart;
        int second = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync().ConfigureAwait(false) && !_stop.IsCancellationRequested)
        {
            second++;
            TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
            long rss = Environment.WorkingSet;
            long connected = Interlocked.Read(ref Metrics.Connected);
            long connects = Interlocked.Read(ref Metrics.Connects);
            long errors = Metrics.ErrorTotal;
            long messages = Interlocked.Read(ref Metrics.MessagesReceived);
            var point = new TimelinePoint
            {
                Second = second,
                Connected = connected,
                Connecting = Interlocked.Read(ref Metrics.Connecting),
                NewConnections = connects - lastConnects,
                Errors = errors - lastErrors,
                Messages = messages - lastMessages,
                CpuPercent = Math.Round((cpu - lastCpu).TotalSeconds * 100, 1),
                RssBytes = rss,
            };
            lock (_timeline)
            {
                _timeline.Add(point);
            }

            (lastConnects, lastErrors, lastMessages, lastCpu) = (connects, errors, messages, cpu);
            _process.PeakRssBytes = Math.Max(_process.PeakRssBytes, rss);
            if (connected >= _process.PeakSockets && connected > 0)
            {
                _process.PeakSockets = connected;
                _process.RssAtPeakSockets = rss;
            }
        }
    }

    public Status Status() => new()
    {
        Connected = Interlocked.Read(ref Metrics.Connected),
        Connecting = Interlocked.Read(ref Metrics.Connecting),
        Connects = Interlocked.Read(ref Metrics.Connects),
        Errors = Metrics.ErrorTotal,
        Messages = Interlocked.Read(ref Metrics.MessagesReceived),
        Target = _count,
        RampDone = _rampDone,
        ClockOffsetMs = Metrics.MeanClockOffsetMs,
        ClockSamples = Metrics.ClockSamples,
        P50Us = Metrics.AllLatency.ValueAt(50),
        P99Us = Metrics.AllLatency.ValueAt(99),
        Received = Metrics.Prompts.Sum(p => Interlocked.Read(ref p.Received)),
        Recovered = Interlocked.Read(ref Metrics.Recovered),
        AnswersAcked = Interlocked.Read(ref Metrics.AnswersAcked),
    };

    /// <summary>Snapshot of who should get prompt <paramref name="index"/> (1-based): the sockets connected now.</summary>
    public readonly Dictionary<int, long> Expected = [];

    public void ExpectPrompt(int index, long publishedAtMs)
    {
        lock (Expected)
        {
            Expected[index] = Interlocked.Read(ref Metrics.Connected);
        }

        if (index >= 1 && index <= Metrics.Prompts.Length)
        {
            Metrics.Prompts[index - 1].PublishedAtMs = publishedAtMs;
        }
    }

    /// <summary>
    /// Storm: closes a share of the connected sockets at once, as a network drop would. A fraction of 0 closes none:
    /// the target is about to drop them all (a restart), and every connected socket counts as dropped.
    /// </summary>
    public void Drop(double fraction)
    {
        if (fraction <= 0)
        {
            _storm = new StormReport { Dropped = _clients.Count(c => c.IsConnected) };
            return;
        }

        int every = fraction >= 1 ? 1 : (int)Math.Max(1, Math.Round(1 / fraction));
        long dropped = 0;
        for (int i = 0; i < _clients.Length; i++)
        {
            if (i % every == 0 && _clients[i].IsConnected)
            {
                _clients[i].Fail(new ClientException("dropped", "storm"));
                dropped++;
            }
        }

        _storm = new StormReport { Dropped = dropped };
    }

    public void SetStormResult(long backWithin, double secondsTo99)
    {
        if (_storm is not null)
        {
            _storm.BackWithin = backWithin;
            _storm.SecondsTo99Percent = secondsTo99;
            _storm.Recovered = Interlocked.Read(ref Metrics.Recovered);
        }
    }

    public async Task<Report> StopAsync()
    {
        long connectedAtEnd = Interlocked.Read(ref Metrics.Connected);
        _process.GcHeapBytes = GC.GetTotalMemory(false);
        _process.LiveHeapBytes = GC.GetTotalMemory(forceFullCollection: true);
        _process.RssAfterGcBytes = Environment.WorkingSet;
        long onWebSocket = Interlocked.Read(ref Metrics.OnWebSocket);
        long onPolling = Interlocked.Read(ref Metrics.OnPolling);
        _stop.Cancel();
        if (_ramp is not null)
        {
            await _ramp.ConfigureAwait(false);
        }

        await Task.WhenAny(Task.WhenAll(_tasks), Task.Delay(5000)).ConfigureAwait(false);
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - _cpuStart;
        _process.CpuSeconds = Math.Round(cpu.TotalSeconds, 2);
        _process.WallSeconds = Math.Round(_wall.Elapsed.TotalSeconds, 2);
        _process.CpuPercent = Math.Round(cpu.TotalSeconds / Math.Max(0.001, _wall.Elapsed.TotalSeconds) * 100, 1);
        var report = new Report
        {
            Scenario = _o.Verb,
            Target = _o.Url.ToString(),
            Transport = _o.Transport,
            StartedAt = _startedAt,
            DurationSeconds = Math.Round(_wall.Elapsed.TotalSeconds, 2),
            Connections = _count,
            PeakConnected = Metrics.PeakConnected,
            ConnectedAtEnd = connectedAtEnd,
            Connects = Metrics.Connects,
            Reconnects = Metrics.Reconnects,
            Recovered = Metrics.Recovered,
            OnWebSocket = onWebSocket,
            OnPolling = onPolling,
            UpgradeFailures = Metrics.UpgradeFailures,
            MessagesReceived = Metrics.MessagesReceived,
            PongsSent = Metrics.PongsSent,
            ServerDisconnects = Metrics.ServerDisconnects,
            Errors = Metrics.Errors.Where(e => e.Key != "stopped").ToDictionary(e => e.Key, e => e.Value),
            ErrorSamples = Metrics.ErrorSamples.Where(e => e.Key != "stopped").ToDictionary(e => e.Key, e => e.Value),
            ConnectTime = Metrics.ConnectTime.ToData(),
            TimeAckRtt = Metrics.AckLatency.ToData(),
            Latency = Metrics.AllLatency.ToData(),
            Process = _process,
            Storm = _storm,
            Answers = _o.Verb == "answers"
                ? new AnswersReport { Sent = Metrics.AnswersSent, Acked = Metrics.AnswersAcked, AckLatency = Metrics.AnswerAck.ToData() }
                : null,
        };
        if (Metrics.UnexpectedPrompts > 0)
        {
            report.Errors["unexpected-prompt"] = Metrics.UnexpectedPrompts;
        }

        for (int i = 0; i < Metrics.Prompts.Length; i++)
        {
            PromptStats p = Metrics.Prompts[i];
            long expected;
            lock (Expected)
            {
                expected = Expected.GetValueOrDefault(i + 1);
            }

            report.Prompts.Add(new PromptReport
            {
                Id = "p-" + (i + 1),
                Index = i + 1,
                PublishedAtMs = p.PublishedAtMs,
                Expected = expected,
                Received = p.Received,
                Duplicates = p.Duplicates,
                OutOfOrder = p.OutOfOrder,
                Latency = p.Latency.ToData(),
            });
        }

        lock (_timeline)
        {
            report.Timeline = [.. _timeline];
        }

        return report;
    }
}
