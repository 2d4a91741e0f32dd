using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Protocol.WebSockets;

namespace Gateway.LoadGen;

/// <summary>
/// The <c>flood</c> verb: connection attempts at a fixed rate, each one TCP connection that sends one pre-encoded
/// Engine.IO handshake (a polling GET, or a direct WebSocket upgrade), reads the answer and closes — a phone refused
/// at show start. Answers are counted by status (503 with and without <c>Retry-After</c>), failures by kind.
/// </summary>
/// <remarks>
/// Open loop with a bound: attempts fall due at <c>--rate</c> whatever the answers take, <c>--concurrency</c> lanes
/// carry them, and an attempt due while every lane is busy and a tenth of a second's worth is already waiting is
/// counted as missed rather than queued (so a slow target shows as a rate not reached, never as a backlog that
/// arrives later). Each lane reuses one receive buffer; an attempt costs a socket and its awaits, nothing else.
/// </remarks>
public sealed class Flood : IDisposable
{
    private const int ReceiveBufferSize = 2048;

    // Linux <netinet/in.h>: IP_BIND_ADDRESS_NO_PORT (the port is chosen at connect, by the whole 4-tuple).
    private const int IpBindAddressNoPort = 24;

    private readonly Options _o;
    private readonly IPEndPoint _target;
    private readonly byte[] _request;
    private readonly long[] _byStatus = new long[600];
    private readonly ConcurrentDictionary<string, long> _errors = new();
    private readonly ConcurrentDictionary<string, string> _samples = new();
    private readonly Histogram _answerTime = new();
    private readonly SemaphoreSlim _due = new(0);
    private readonly Socket?[] _inFlight;
    private readonly long[] _inFlightSince;
    private readonly List<long> _perSecond = [];
    private long _status503WithRetryAfter;
    private long _attempts;
    private long _answered;
    private long _missed;
    private long _nextSource;

    // Attempt tokens handed to the lanes (set once pacing ends; until then unbounded) and taken by them: a lane that
    // takes one beyond the handed-out ones has been told to stop.
    private long _tokens = long.MaxValue;
    private long _given;
    private long _taken;

    public Flood(Options o)
    {
        _o = o;
        _target = LocalRun.ResolveTarget(o);
        string host = Conn.HostHeader(_target);
        string query = o.Path + "?EIO=4&transport=" + o.Transport;
        if (o.Transport == "websocket")
        {
            byte[] key = new byte[WebSocketHandshake.KeyLength];
            WebSocketHandshake.CreateClientKey(key);
            _request = Conn.Ascii(VirtualClient.WebSocketUpgradeRequest(query, Encoding.ASCII.GetString(key), host));
        }
        else
        {
            _request = Conn.Ascii(VirtualClient.PollingGetRequest(query + "&t=" + VirtualClient.RandomString(), host));
        }

        _inFlight = new Socket?[o.Concurrency];
        _inFlightSince = new long[o.Concurrency];
    }

    public static async Task<int> RunAsync(Options o)
    {
        using var flood = new Flood(o);
        FloodReport report = await flood.RunAsync().ConfigureAwait(false);
        Console.Out.Write(report.Render());
        if (o.ReportPath is not null)
        {
            await File.WriteAllTextAsync(o.ReportPath, System.Text.Json.JsonSerializer.Serialize(report, Report.JsonOptions)).ConfigureAwait(false);
        }

        return 0;
    }

    private async Task<FloodReport> RunAsync()
    {
        var startedAt = DateTimeOffset.UtcNow;
        TimeSpan cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        Task lanes = Task.WhenAll(Enumerable.Range(0, _o.Concurrency).Select(i => Task.Run(() => LaneAsync(i))));
        var clock = Stopwatch.StartNew();
        var pacer = new Thread(Pace) { IsBackground = true, Name = "flood pacer" };
        pacer.Start();
        await Task.Run(() => pacer.Join()).ConfigureAwait(false);
        double paced = clock.Elapsed.TotalSeconds;

        // Every due attempt is made; the ones in flight get up to --timeout (the watch below closes them then).
        Volatile.Write(ref _tokens, _given);
        _due.Release(_o.Concurrency);
        while (!lanes.IsCompleted)
        {
            Watch();
            await Task.WhenAny(lanes, Task.Delay(100)).ConfigureAwait(false);
        }

        var statuses = new Dictionary<string, long>();
        for (int s = 0; s < _byStatus.Length; s++)
        {
            if (_byStatus[s] > 0)
            {
                statuses[s.ToString(CultureInfo.InvariantCulture)] = _byStatus[s];
            }
        }

        long planned = (long)(_o.Rate * _o.Duration.TotalSeconds);
        return new FloodReport
        {
            Target = _o.Target,
            Transport = _o.Transport,
            Rate = _o.Rate,
            Concurrency = _o.Concurrency,
            StartedAt = startedAt,
            PacedSeconds = Math.Round(paced, 3),
            TotalSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            Planned = planned,
            Attempts = _attempts,
            Missed = _missed,
            AttemptsPerSecond = Math.Round(_attempts / paced, 1),
            Answered = _answered,
            ByStatus = statuses,
            Status503WithRetryAfter = _status503WithRetryAfter,
            Errors = new Dictionary<string, long>(_errors),
            ErrorSamples = new Dictionary<string, string>(_samples),
            AnswerTime = _answerTime.ToData(),
            AttemptsEachSecond = [.. _perSecond],
            CpuSeconds = Math.Round((Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds, 3),
        };
    }

    public void Dispose() => _due.Dispose();

    // Releases the attempts as they fall due (every millisecond), watches the ones in flight, prints a line a second.
    private void Pace()
    {
        var clock = Stopwatch.StartNew();
        long planned = (long)(_o.Rate * _o.Duration.TotalSeconds);
        long maxWaiting = Math.Max(1, (long)(_o.Rate / 10));
        long released = 0, lastAttempts = 0;
        double nextWatch = 0, nextSecond = 1000;
        while (released < planned)
        {
            double elapsedMs = clock.Elapsed.TotalMilliseconds;
            long due = Math.Min(planned, (long)(elapsedMs * _o.Rate / 1000));
            if (due > released)
            {
                long give = Math.Min(due - released, Math.Max(0, maxWaiting - _due.CurrentCount));
                _missed += due - released - give;
                if (give > 0)
                {
                    _given += give;
                    _due.Release((int)give);
                }

                released = due;
            }

            if (elapsedMs >= nextWatch)
            {
                Watch();
                nextWatch = elapsedMs + 100;
            }

            if (elapsedMs >= nextSecond)
            {
                long attempts = Interlocked.Read(ref _attempts);
                _perSecond.Add(attempts - lastAttempts);
                lastAttempts = attempts;
                nextSecond += 1000;
                if (!_o.Quiet)
                {
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"[{elapsedMs / 1000,5:0}s] attempts {_perSecond[^1]:N0}/s  answered {Interlocked.Read(ref _answered):N0}  503 {Interlocked.Read(ref _byStatus[503]):N0}  errors {_errors.Values.Sum():N0}  missed {_missed:N0}"));
                }
            }

            Thread.Sleep(1);
        }
    }

    // Closes attempts older than --timeout; their lanes see that their socket was taken and count a timeout.
    private void Watch()
    {
        long limit = (long)(_o.ConnectTimeout.TotalSeconds * Stopwatch.Frequency);
        long now = Stopwatch.GetTimestamp();
        for (int lane = 0; lane < _inFlight.Length; lane++)
        {
            Socket? socket = Volatile.Read(ref _inFlight[lane]);
            if (socket is not null && now - Volatile.Read(ref _inFlightSince[lane]) > limit &&
                Interlocked.CompareExchange(ref _inFlight[lane], null, socket) == socket)
            {
                socket.Dispose();
            }
        }
    }

    private async Task LaneAsync(int lane)
    {
        byte[] buffer = new byte[ReceiveBufferSize];
        while (true)
        {
            await _due.WaitAsync().ConfigureAwait(false);
            if (Interlocked.Increment(ref _taken) > Volatile.Read(ref _tokens))
            {
                return;
            }

            IPAddress? source = _o.SourceIps.Length == 0 ? null
                : _o.SourceIps[(int)((ulong)Interlocked.Increment(ref _nextSource) % (ulong)_o.SourceIps.Length)];
            await AttemptAsync(lane, source, buffer).ConfigureAwait(false);
        }
    }

    private async Task AttemptAsync(int lane, IPAddress? source, byte[] buffer)
    {
        Interlocked.Increment(ref _attempts);
        long start = Stopwatch.GetTimestamp();
        var socket = new Socket(_target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        Volatile.Write(ref _inFlightSince[lane], start);
        Volatile.Write(ref _inFlight[lane], socket);
        bool connected = false, answered = false;
        string? error = null, detail = null;
        try
        {
            if (source is not null)
            {
                if (OperatingSystem.IsLinux())
                {
                    socket.SetRawSocketOption((int)SocketOptionLevel.IP, IpBindAddressNoPort, BitConverter.GetBytes(1));
                }

                socket.Bind(new IPEndPoint(source, 0));
            }

            await socket.ConnectAsync(_target).ConfigureAwait(false);
            connected = true;
            socket.Send(_request);
            answered = await ReadAnswerAsync(socket, buffer, start).ConfigureAwait(false);
            if (!answered)
            {
                error = "closed-before-answer";
            }
        }
        catch (SocketException e)
        {
            (error, detail) = (Kind(e.SocketErrorCode, connected), e.Message);
        }
        catch (ObjectDisposedException e)
        {
            (error, detail) = ("disposed", e.Message);
        }
        catch (ClientException e)
        {
            (error, detail) = (e.Kind, e.Message);
        }
        finally
        {
            // The watch took the socket: the attempt timed out (whatever its await threw).
            if (Interlocked.CompareExchange(ref _inFlight[lane], null, socket) != socket && !answered)
            {
                (error, detail) = (connected ? "timeout" : "connect-timeout", $"no answer within {_o.ConnectTimeout.TotalSeconds:0.#} s");
            }

            socket.Dispose();
        }

        if (error is not null && !answered)
        {
            _errors.AddOrUpdate(error, 1, static (_, n) => n + 1);
            _samples.TryAdd(error, detail ?? error);
        }
    }

    private static string Kind(SocketError code, bool connected) => code switch
    {
        SocketError.ConnectionRefused => "connect-refused",
        SocketError.ConnectionReset => connected ? "reset" : "connect-reset",
        _ => (connected ? "socket-" : "connect-") + code.ToString().ToLowerInvariant(),
    };

    // Reads the whole answer (head, and a Content-Length body); when it says "Connection: close", reads on until the
    // server's FIN, so that the server is the side that closes first (as a client reading to EOF would do) and this
    // side holds no port in TIME_WAIT. True when an answer was read.
    private async Task<bool> ReadAnswerAsync(Socket socket, byte[] buffer, long start)
    {
        int got = 0, need = -1;
        bool answered = false;
        HttpResponse? response = null;
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(got), SocketFlags.None).ConfigureAwait(false);
            if (n == 0)
            {
                return answered;
            }

            if (answered)
            {
                continue; // waiting for the FIN: whatever comes is discarded
            }

            got += n;
            if (need < 0)
            {
                int headEnd = buffer.AsSpan(0, got).IndexOf("\r\n\r\n"u8);
                if (headEnd < 0)
                {
                    if (got == buffer.Length)
                    {
                        throw new ClientException("protocol", "answer head too large");
                    }

                    continue;
                }

                response = HttpResponse.ParseHead(buffer.AsSpan(0, headEnd + 4));
                need = headEnd + 4 + (response.Status == 101 ? 0 : (int)Math.Clamp(response.ContentLength, 0, ReceiveBufferSize));
            }

            if (got >= need)
            {
                answered = true;
                Count(response!);
                Interlocked.Increment(ref _answered);
                _answerTime.Record((Stopwatch.GetTimestamp() - start) * 1_000_000 / Stopwatch.Frequency);
                if (!response!.Close || response.Status == 101)
                {
                    return true; // an admitted handshake (101, 200 keep-alive): this client goes away at once
                }

                got = 0;
            }
            else if (got == buffer.Length)
            {
                throw new ClientException("protocol", "answer too large");
            }
        }
    }

    private void Count(HttpResponse response)
    {
        Interlocked.Increment(ref _byStatus[Math.Clamp(response.Status, 0, _byStatus.Length - 1)]);
        if (response.Status == 503 && response.HasRetryAfter)
        {
            Interlocked.Increment(ref _status503WithRetryAfter);
        }
    }
}

/// <summary>What <c>loadgen flood</c> reports (<c>--report</c>).</summary>
public sealed class FloodReport
{
    public string Scenario { get; set; } = "flood";
    public string Target { get; set; } = "";
    public string Transport { get; set; } = "";
    public double Rate { get; set; }
    public int Concurrency { get; set; }
    public DateTimeOffset StartedAt { get; set; }

    /// <summary>Seconds over which attempts fell due (--duration, as the pacer measured it).</summary>
    public double PacedSeconds { get; set; }

    /// <summary>Until the last attempt ended.</summary>
    public double TotalSeconds { get; set; }
    public long Planned { get; set; }
    public long Attempts { get; set; }

    /// <summary>Attempts due while every lane was busy and a tenth of a second's worth already waited: not made.</summary>
    public long Missed { get; set; }
    public double AttemptsPerSecond { get; set; }

    /// <summary>Attempts that read a whole answer (any status).</summary>
    public long Answered { get; set; }
    public Dictionary<string, long> ByStatus { get; set; } = [];
    public long Status503WithRetryAfter { get; set; }

    /// <summary>Attempts without an answer, by kind: connect-refused, connect-timeout, reset, closed-before-answer, timeout, …</summary>
    public Dictionary<string, long> Errors { get; set; } = [];
    public Dictionary<string, string> ErrorSamples { get; set; } = [];

    /// <summary>Socket creation → whole answer read, µs.</summary>
    public HistogramData AnswerTime { get; set; } = new();
    public List<long> AttemptsEachSecond { get; set; } = [];

    /// <summary>This process's CPU over the run (user + system).</summary>
    public double CpuSeconds { get; set; }

    public string Render()
    {
        var sb = new StringBuilder();
        void Line(string k, string v) => sb.Append(CultureInfo.InvariantCulture, $"  {k,-22} {v}\n");
        Histogram h = Histogram.FromData(AnswerTime);
        string Ms(long us) => (us / 1000.0).ToString("0.0", CultureInfo.InvariantCulture) + " ms";
        long s503 = ByStatus.GetValueOrDefault("503");
        sb.Append(CultureInfo.InvariantCulture, $"\n== loadgen flood against {Target} ({Transport}, {Rate:N0}/s for {PacedSeconds:0.0} s, {Concurrency} lanes)\n");
        Line("attempts", $"{Attempts:N0} of {Planned:N0} planned ({AttemptsPerSecond:N0}/s), missed {Missed:N0}");
        Line("answered", $"{Answered:N0}: 503 with Retry-After {Status503WithRetryAfter:N0}, 503 without {s503 - Status503WithRetryAfter:N0}, other " +
            (ByStatus.Count(kv => kv.Key != "503") == 0 ? "none" : string.Join(", ", ByStatus.Where(kv => kv.Key != "503").Select(kv => $"{kv.Key} {kv.Value:N0}"))));
        Line("no answer", Errors.Count == 0 ? "none" : string.Join(", ", Errors.OrderByDescending(e => e.Value).Select(e => $"{e.Key} {e.Value:N0}")));
        Line("answer time", h.TotalCount == 0 ? "-" : $"p50 {Ms(h.ValueAt(50))}  p99 {Ms(h.ValueAt(99))}  max {Ms(h.Max)}");
        Line("cpu", $"{CpuSeconds:0.00} s ({CpuSeconds / Math.Max(0.001, TotalSeconds) * 100:0}% of a core)");
        return sb.ToString();
    }
}
