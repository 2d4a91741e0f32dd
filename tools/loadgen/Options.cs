using System.Globalization;
using System.Net;

namespace Gateway.LoadGen;

/// <summary>Command-line settings; every flag is documented in <see cref="Usage"/>.</summary>
public sealed class Options
{
    public string Verb { get; set; } = "connect";
    public Uri Url { get; set; } = new("http://127.0.0.1:3000");
    public string Path { get; set; } = "/socket.io/";
    public string? PublishUrl { get; set; }

    /// <summary>StackExchange.Redis configuration: publish into the prompt stream instead of through --publish-url.</summary>
    public string? Redis { get; set; }

    /// <summary>The prompt stream's key with --redis (the wake-up channel is &lt;key&gt;:wake).</summary>
    public string Stream { get; set; } = "gateway:prompts";
    public int Connections { get; set; } = 100;
    public double Rate { get; set; } = 500;
    public string Ramp { get; set; } = "linear";
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(10);
    public string Transport { get; set; } = "polling";
    public double PollingShare { get; set; }
    public string Namespace { get; set; } = "/";
    public string[] Channels { get; set; } = [];
    public string? Token { get; set; }
    public int PongDelayMs { get; set; }
    public bool NoPong { get; set; }
    public bool Reconnect { get; set; } = true;
    public int Prompts { get; set; } = 5;
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);
    public int PayloadBytes { get; set; } = 300;
    public TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>broadcast: hold this long with everyone connected before the first prompt (idle measurements).</summary>
    public TimeSpan Hold { get; set; } = TimeSpan.Zero;

    /// <summary>broadcast: after the spaced prompts, this many more published back to back (ids continue).</summary>
    public int Burst { get; set; }

    /// <summary>broadcast: how many bursts of <see cref="Burst"/> prompts, <see cref="BurstPause"/> apart (ids continue).</summary>
    public int Bursts { get; set; } = 1;

    /// <summary>broadcast: pause after every socket had one burst (or the grace ran out) before the next burst.</summary>
    public TimeSpan BurstPause { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Publish over HTTP from a dedicated thread with a blocking socket (not through the socket engine).</summary>
    public bool PublishThread { get; set; }

    /// <summary>Prompts published in all: the spaced ones and every burst.</summary>
    public int TotalPrompts => Prompts + Burst * Math.Max(1, Bursts);
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(20);
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(60);
    public int Workers { get; set; } = 1;

    /// <summary>flood: attempts in flight at most.</summary>
    public int Concurrency { get; set; } = 256;
    public int ShardIndex { get; set; }
    public int ShardCount { get; set; } = 1;
    public bool NoPublish { get; set; }

    /// <summary>storm: a shell command that restarts the target, run instead of dropping sockets.</summary>
    public string? RestartCommand { get; set; }
    public IPAddress[] SourceIps { get; set; } = [];
    public string? ReportPath { get; set; }
    public string? HtmlPath { get; set; }
    public List<(string Metric, double Limit)> Slos { get; } = [];
    public bool AllowRemote { get; set; }

    /// <summary>
    /// The target reads the same clock as this process (one machine): latency is local now − sentAt, with no offset
    /// estimated from the <c>time</c> ack, whose one sample per client is off by up to half its round trip — seconds
    /// while a loaded machine ramps up, which the slowest socket's figure would carry.
    /// </summary>
    public bool SameClock { get; set; }
    public bool Quiet { get; set; }
    public double StormFraction { get; set; } = 0.5;

    /// <summary>storm: prompts published while the sockets come back (after the one before the drop), --interval apart.</summary>
    public int StormPrompts { get; set; }
    public TimeSpan ThinkMin { get; set; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan ThinkMax { get; set; } = TimeSpan.FromSeconds(2);
    public string AnswerEvent { get; set; } = "answer";
    public int BinaryBytes { get; set; }
    public int[] Levels { get; set; } = [];

    /// <summary>Set on child processes: report progress as JSON lines on stdout and wait for "stop" on stdin.</summary>
    public bool ChildMode { get; set; }

    public List<string> MergeInputs { get; } = [];

    /// <summary>Set on child processes: the ids of the clients this process runs.</summary>
    public int FirstId { get; set; }

    public int Count { get; set; } = -1;

    public string Target => $"{Url.Host}:{Url.Port}";

    public Uri EffectivePublishUrl => new(PublishUrl ?? $"http://{(Url.HostNameType == UriHostNameType.IPv6 ? "[" + Url.Host + "]" : Url.Host)}:3001/v1/publish");

    public const string Usage = """
        loadgen <verb> [options]
          verbs: connect | broadcast | answers | storm | capacity | flood | merge <a.json> <b.json>...
          --url http://127.0.0.1:3000     Socket.IO server (path --path, default /socket.io/)
          --connections N                 sockets to open (split across --workers and --shard)
          --rate R                        new connections per second (per run, default 500)
          --ramp linear|step|spike        linear: paced at --rate; step: 10 steps of N/10 every second; spike: all at once
          --duration 10s                  hold time after the ramp (connect) / before the storm
          --transport polling|websocket   polling (default): handshake on polling then upgrade; websocket: websocket only
          --polling-share 0.1             share of clients that never upgrade
          --namespace /  --channels a,b  --token T      CONNECT auth {"token":T,"channels":[...]}
          --pong-delay MS | --no-pong     answer server pings late or never
          --no-reconnect                  do not reconnect after a drop
          --prompts K --interval 1s --payload-bytes 300 --grace 5s    broadcast settings
          --hold 0s --burst B             broadcast: hold before the first prompt; then B more prompts back to back
          --bursts R --burst-pause 2s     broadcast: R bursts of B, each after every socket had the last (or --grace) and a pause
          --publish-url URL               default http://<target-host>:3001/v1/publish
          --publish-thread                POST from a dedicated thread on a blocking socket (a burst is then published at the
                                          server's pace, not behind this process's receives)
          --redis "127.0.0.1:6379"        publish into the Redis prompt stream instead (StackExchange.Redis configuration)
          --stream gateway:prompts        with --redis: the stream key (wake-up channel <key>:wake)
          --levels 1000,2000,4000         capacity: socket counts to try in turn (default: 1/4, 1/2, 3/4, all of --connections)
          --storm-fraction 0.5            storm: share of sockets dropped at once
          --restart-command '<shell>'     storm: run this instead (it restarts the target, or POSTs /v1/disconnect): every socket drops
          --storm-prompts K               storm: K more prompts, --interval apart, from the drop on; every socket that was
                                          connected is expected to get each once (recovery); waits up to --grace for them
          --think 200ms-2s                answers: think time, uniform in the range, before each answer
          --answer-event answer           answers: event emitted with an ack: ["answer",{"promptId":..,"choice":n}]
          --binary-bytes N                answers: send each answer as a binary event with an N-byte attachment
          --concurrency 256               flood: attempts in flight at most (each: one TCP connection, one pre-encoded
                                          handshake of --transport, its answer read, closed); --rate attempts/s for
                                          --duration; an attempt without an answer within --timeout counts as timeout
          --workers N                     run N child processes and merge their reports
          --shard i/n                     this machine's share of --connections (only shard 0 publishes)
          --no-publish                    never publish (another shard does)
          --source-ips 127.0.0.2-127.0.0.100   bind sockets round-robin to these source addresses
          --timeout 20s                   connect (Engine.IO open) timeout
          --report out.json --html out.html
          --slo p99=250ms,errors=0.01     non-zero exit when broken (p50,p90,p99,p999,max,connect-p99,errors,missing)
          --allow-remote                  allow non-loopback targets (and publish URLs, Redis hosts)
          --same-clock                    the target shares this machine's clock: no offset from the time ack
          --quiet                         no live line
        """;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        int i = 0;
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            throw new ArgumentException("missing verb");
        }

        o.Verb = args[i++];
        while (i < args.Length)
        {
            string a = args[i++];
            string Next() => i < args.Length ? args[i++] : throw new ArgumentException($"{a} needs a value");
            switch (a)
            {
                case "--url": o.Url = new Uri(Next()); break;
                case "--path": o.Path = Next(); break;
                case "--publish-url": o.PublishUrl = Next(); break;
                case "--redis": o.Redis = Next(); break;
                case "--stream":
                    o.Stream = Next();
                    if (o.Stream.Length == 0)
                    {
                        throw new ArgumentException("--stream must not be empty");
                    }

                    break;
                case "--connections" or "-c": o.Connections = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--rate": o.Rate = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--ramp": o.Ramp = Next(); break;
                case "--duration": o.Duration = ParseTime(Next()); break;
                case "--transport": o.Transport = Next(); break;
                case "--polling-share": o.PollingShare = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--namespace": o.Namespace = Next(); break;
                case "--channels": o.Channels = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                case "--token": o.Token = Next(); break;
                case "--pong-delay": o.PongDelayMs = (int)ParseTime(Next(), "ms").TotalMilliseconds; break;
                case "--no-pong": o.NoPong = true; break;
                case "--no-reconnect": o.Reconnect = false; break;
                case "--prompts": o.Prompts = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--interval": o.Interval = ParseTime(Next()); break;
                case "--payload-bytes": o.PayloadBytes = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--grace": o.Grace = ParseTime(Next()); break;
                case "--hold": o.Hold = ParseTime(Next()); break;
                case "--burst": o.Burst = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--bursts":
                    o.Bursts = int.Parse(Next(), CultureInfo.InvariantCulture);
                    if (o.Bursts < 1)
                    {
                        throw new ArgumentException("--bursts must be at least 1");
                    }

                    break;
                case "--burst-pause": o.BurstPause = ParseTime(Next()); break;
                case "--publish-thread": o.PublishThread = true; break;
                case "--timeout": o.ConnectTimeout = ParseTime(Next()); break;
                case "--ready-timeout": o.ReadyTimeout = ParseTime(Next()); break;
                case "--think":
                    string[] t = Next().Split('-');
                    o.ThinkMin = ParseTime(t[0], "ms");
                    o.ThinkMax = t.Length > 1 ? ParseTime(t[1], "ms") : o.ThinkMin;
                    break;
                case "--levels": o.Levels = [.. Next().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => int.Parse(x, CultureInfo.InvariantCulture))]; break;
                case "--answer-event": o.AnswerEvent = Next(); break;
                case "--binary-bytes": o.BinaryBytes = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--storm-fraction": o.StormFraction = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--storm-prompts": o.StormPrompts = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--concurrency":
                    o.Concurrency = int.Parse(Next(), CultureInfo.InvariantCulture);
                    if (o.Concurrency is < 1 or > 65536)
                    {
                        throw new ArgumentException("--concurrency must be 1–65536");
                    }

                    break;
                case "--workers": o.Workers = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--shard":
                    string[] s = Next().Split('/');
                    o.ShardIndex = int.Parse(s[0], CultureInfo.InvariantCulture);
                    o.ShardCount = int.Parse(s[1], CultureInfo.InvariantCulture);
                    break;
                case "--no-publish": o.NoPublish = true; break;
                case "--restart-command": o.RestartCommand = Next(); break;
                case "--source-ips": o.SourceIps = ParseIpRange(Next()); break;
                case "--report": o.ReportPath = Next(); break;
                case "--html": o.HtmlPath = Next(); break;
                case "--slo":
                    foreach (string part in Next().Split(',', StringSplitOptions.RemoveEmptyEntries))
                    {
                        string[] kv = part.Split('=');
                        string metric = kv[0].Trim().ToLowerInvariant();
                        double limit = metric is "errors" or "missing"
                            ? double.Parse(kv[1], CultureInfo.InvariantCulture)
                            : ParseTime(kv[1], "ms").TotalMilliseconds;
                        o.Slos.Add((metric, limit));
                    }

                    break;
                case "--allow-remote": o.AllowRemote = true; break;
                case "--quiet": o.Quiet = true; break;
                case "--same-clock": o.SameClock = true; break;
                case "--child": o.ChildMode = true; break;
                case "--id-range":
                    string[] r = Next().Split(':');
                    o.FirstId = int.Parse(r[0], CultureInfo.InvariantCulture);
                    o.Count = int.Parse(r[1], CultureInfo.InvariantCulture);
                    break;
                default:
                    if (o.Verb == "merge" && !a.StartsWith('-'))
                    {
                        o.MergeInputs.Add(a);
                        break;
                    }

                    throw new ArgumentException($"unknown option {a}");
            }
        }

        if (o.Transport is not ("polling" or "websocket"))
        {
            throw new ArgumentException("--transport is polling or websocket");
        }

        return o;
    }

    /// <summary>"250ms", "10s", "2m", or a bare number in <paramref name="bareUnit"/>.</summary>
    public static TimeSpan ParseTime(string text, string bareUnit = "s")
    {
        text = text.Trim();
        (string num, string unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], "ms")
            : text.EndsWith("us", StringComparison.Ordinal) ? (text[..^2], "us")
            : text.EndsWith('s') ? (text[..^1], "s")
            : text.EndsWith('m') ? (text[..^1], "m")
            : (text, bareUnit);
        double v = double.Parse(num, CultureInfo.InvariantCulture);
        return unit switch
        {
            "us" => TimeSpan.FromMicroseconds(v),
            "ms" => TimeSpan.FromMilliseconds(v),
            "m" => TimeSpan.FromMinutes(v),
            _ => TimeSpan.FromSeconds(v),
        };
    }

    public static IPAddress[] ParseIpRange(string text)
    {
        var list = new List<IPAddress>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = part.IndexOf('-');
            if (dash < 0)
            {
                list.Add(IPAddress.Parse(part));
                continue;
            }

            byte[] from = IPAddress.Parse(part[..dash]).GetAddressBytes();
            string toText = part[(dash + 1)..];
            byte[] to = toText.Contains('.') ? IPAddress.Parse(toText).GetAddressBytes() : [from[0], from[1], from[2], byte.Parse(toText, CultureInfo.InvariantCulture)];
            uint a = (uint)(from[0] << 24 | from[1] << 16 | from[2] << 8 | from[3]);
            uint b = (uint)(to[0] << 24 | to[1] << 16 | to[2] << 8 | to[3]);
            for (uint x = a; x <= b && list.Count < 65536; x++)
            {
                list.Add(new IPAddress([(byte)(x >> 24), (byte)(x >> 16), (byte)(x >> 8), (byte)x]));
            }
        }

        return [.. list];
    }
}
