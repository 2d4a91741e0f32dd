using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Gateway.Streams;
using StackExchange.Redis;

namespace Gateway.LoadGen;

/// <summary>
/// Publishes loadgen's prompts: through the admin HTTP API (<c>POST --publish-url</c>) or, with <c>--redis</c>,
/// straight into the region's prompt stream per the wire contract (<see cref="PromptStream.PublishAsync"/>: XADD
/// MAXLEN ~ then PUBLISH &lt;key&gt;:wake &lt;stream id&gt;). The event's arguments are the same either way, so
/// clients measure latency the same way.
/// </summary>
public sealed class PromptPublisher : IAsyncDisposable
{
    private readonly Options _o;
    private readonly HttpClient? _http;
    private readonly ConnectionMultiplexer? _redis;
    private readonly PromptStream? _stream;
    private readonly BlockingPoster? _poster;

    private PromptPublisher(Options o, HttpClient? http, ConnectionMultiplexer? redis, PromptStream? stream)
    {
        _o = o;
        _http = http;
        _redis = redis;
        _stream = stream;
        if (http is not null && o.PublishThread)
        {
            _poster = new BlockingPoster(o.EffectivePublishUrl);
        }

        // Entry ids must be unique per run: gateways deduplicate by id, and every run numbers its prompts p-1, p-2, ….
        RunId = "lg-" + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + "-" +
            Random.Shared.Next(0, 1 << 20).ToString("x5", CultureInfo.InvariantCulture);
    }

    /// <summary>Prefix of the stream entries' ids in Redis mode: <c>&lt;RunId&gt;-p-&lt;k&gt;</c>.</summary>
    public string RunId { get; }

    public bool UsesRedis => _redis is not null;

    /// <summary>The event's arguments of prompt <paramref name="k"/>: <c>[{"id":"p-k","sentAt":ms,"payload":"…"}]</c>.</summary>
    public static string PromptData(int k, long sentAt, string payload) =>
        string.Create(CultureInfo.InvariantCulture, $"[{{\"id\":\"p-{k}\",\"sentAt\":{sentAt},\"payload\":\"{payload}\"}}]");

    /// <summary>The admin API's publish body around <see cref="PromptData"/>.</summary>
    public static string HttpBody(string ns, string data) =>
        $"{{\"namespace\":{JsonSerializer.Serialize(ns)},\"channel\":null,\"event\":\"prompt\",\"data\":{data}}}";

    /// <summary>The HTTP publisher, or with <c>--redis</c> a connected Redis one (an ArgumentException when it cannot connect).</summary>
    public static async Task<PromptPublisher> CreateAsync(Options o)
    {
        if (o.Redis is null)
        {
            return new PromptPublisher(o, new HttpClient { Timeout = TimeSpan.FromSeconds(10) }, null, null);
        }

        ConfigurationOptions configuration = ParseRedis(o.Redis);
        configuration.AbortOnConnectFail = false;
        configuration.ClientName ??= "loadgen";
        ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        if (!redis.IsConnected)
        {
            string status = redis.GetStatus();
            await redis.DisposeAsync().ConfigureAwait(false);
            throw new ArgumentException($"--redis: cannot connect to {string.Join(",", configuration.EndPoints.Select(EndPointCollection.ToString))} ({status.ReplaceLineEndings(" ").Trim()})");
        }

        return new PromptPublisher(o, null, redis, new PromptStream(o.Stream));
    }

    /// <summary>Publishes prompt <paramref name="k"/>; a failure is counted in <paramref name="errors"/>, never thrown.</summary>
    public async Task PublishAsync(int k, long sentAt, string payload, Dictionary<string, long> errors)
    {
        string data = PromptData(k, sentAt, payload);
        if (_redis is not null)
        {
            try
            {
                await _stream!.PublishAsync(_redis, new PromptEntry($"{RunId}-p-{k}", _o.Namespace, null, PromptEntry.DefaultEvent, data)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RedisException or TimeoutException or ArgumentException)
            {
                errors["publish-failed"] = errors.GetValueOrDefault("publish-failed") + 1;
            }

            return;
        }

        if (_poster is not null)
        {
            (_, List<string> failures) = await _poster.PostAllAsync([HttpBody(_o.Namespace, data)]).ConfigureAwait(false);
            foreach (string key in failures)
            {
                errors[key] = errors.GetValueOrDefault(key) + 1;
            }

            return;
        }

        try
        {
            using var content = new StringContent(HttpBody(_o.Namespace, data), Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using HttpResponseMessage response = await _http!.PostAsync(_o.EffectivePublishUrl, content).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                string key = "publish-http-" + (int)response.StatusCode;
                errors[key] = errors.GetValueOrDefault(key) + 1;
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            errors["publish-failed"] = errors.GetValueOrDefault("publish-failed") + 1;
        }
    }

    /// <summary>
    /// Publishes prompts <paramref name="ks"/> one after the other, all stamped <paramref name="sentAt"/>; returns how
    /// long each publish took (ms). With <c>--publish-thread</c> the whole run of POSTs happens on the poster's own
    /// thread over a blocking socket, so the next POST does not wait for this process's socket engine, which during a
    /// burst is busy with every client's receive (the 202 would queue behind them and the burst would be published
    /// at the pace this process receives, not at the pace the server accepts).
    /// </summary>
    public async Task<List<double>> PublishManyAsync(IReadOnlyList<int> ks, long sentAt, string payload, Dictionary<string, long> errors)
    {
        var each = new List<double>(ks.Count);
        if (_poster is not null)
        {
            string[] bodies = [.. ks.Select(k => HttpBody(_o.Namespace, PromptData(k, sentAt, payload)))];
            (List<double> times, List<string> failures) = await _poster.PostAllAsync(bodies).ConfigureAwait(false);
            foreach (string key in failures)
            {
                errors[key] = errors.GetValueOrDefault(key) + 1;
            }

            return times;
        }

        foreach (int k in ks)
        {
            long before = System.Diagnostics.Stopwatch.GetTimestamp();
            await PublishAsync(k, sentAt, payload, errors).ConfigureAwait(false);
            each.Add(Math.Round(System.Diagnostics.Stopwatch.GetElapsedTime(before).TotalMilliseconds, 2));
        }

        return each;
    }

    /// <summary>Parses <c>--redis</c>; a bad configuration string is a usage error.</summary>
    public static ConfigurationOptions ParseRedis(string text)
    {
        ConfigurationOptions configuration;
        try
        {
            configuration = ConfigurationOptions.Parse(text);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or NotSupportedException or RedisException)
        {
            throw new ArgumentException("--redis: " + e.Message);
        }

        if (configuration.EndPoints.Count == 0)
        {
            throw new ArgumentException("--redis needs an endpoint (host:port)");
        }

        return configuration;
    }

    /// <summary>The loopback rule for <c>--redis</c>: every endpoint (Sentinels included) must resolve to loopback.</summary>
    public static void CheckLoopback(string text)
    {
        foreach (EndPoint endPoint in ParseRedis(text).EndPoints)
        {
            (string host, IPAddress[] addresses) = endPoint switch
            {
                IPEndPoint ip => (ip.Address.ToString(), new[] { ip.Address }),
                DnsEndPoint dns => (dns.Host, Resolve(dns.Host)),
                _ => (endPoint.ToString() ?? "?", Array.Empty<IPAddress>()),
            };
            if (addresses.Length == 0 || !addresses.All(IPAddress.IsLoopback))
            {
                throw new ArgumentException($"--redis {host} is not a loopback address; pass --allow-remote to use a remote Redis");
            }
        }
    }

    private static IPAddress[] Resolve(string host)
    {
        try
        {
            return Dns.GetHostAddresses(host);
        }
        catch (SocketException)
        {
            return [];
        }
    }

    public async ValueTask DisposeAsync()
    {
        _poster?.Dispose();
        _http?.Dispose();
        if (_redis is not null)
        {
            await _redis.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>
/// HTTP/1.1 POSTs on one keep-alive connection, from a dedicated thread with a blocking socket (<c>--publish-thread</c>):
/// a blocking socket never goes through the runtime's socket engine, so its replies are read as soon as they arrive,
/// whatever else this process is receiving.
/// </summary>
internal sealed class BlockingPoster : IDisposable
{
    private readonly Uri _url;
    private readonly System.Collections.Concurrent.BlockingCollection<(string[] Bodies, TaskCompletionSource<(List<double>, List<string>)> Done)> _jobs = new();
    private readonly Thread _thread;
    private Socket? _socket;
    private readonly byte[] _buffer = new byte[16384];

    /// <summary>The last failure's message (diagnostics).</summary>
    public static string? LastFailure { get; private set; }

    public BlockingPoster(Uri url)
    {
        _url = url;
        _thread = new Thread(Run) { IsBackground = true, Name = "loadgen-publisher" };
        _thread.Start();
    }

    public Task<(List<double> Times, List<string> Failures)> PostAllAsync(string[] bodies)
    {
        var done = new TaskCompletionSource<(List<double>, List<string>)>(TaskCreationOptions.RunContinuationsAsynchronously);
        _jobs.Add((bodies, done));
        return done.Task;
    }

    private void Run()
    {
        foreach ((string[] bodies, TaskCompletionSource<(List<double>, List<string>)> done) in _jobs.GetConsumingEnumerable())
        {
            var times = new List<double>(bodies.Length);
            var failures = new List<string>();
            foreach (string body in bodies)
            {
                long before = System.Diagnostics.Stopwatch.GetTimestamp();
                int status = 0;
                string failure = "publish-failed";
                for (int attempt = 0; attempt < 2 && status == 0; attempt++)
                {
                    // A kept-alive connection the server closed meanwhile fails once; the retry opens a new one.
                    bool reused = _socket is not null;
                    try
                    {
                        status = Post(body);
                    }
                    catch (Exception e) when (e is SocketException or IOException or FormatException or ObjectDisposedException or ArgumentException)
                    {
                        failure = "publish-failed-" + e.GetType().Name;
                        LastFailure = e.Message;
                        _socket?.Dispose();
                        _socket = null;
                        if (!reused)
                        {
                            break;
                        }
                    }
                }

                times.Add(Math.Round(System.Diagnostics.Stopwatch.GetElapsedTime(before).TotalMilliseconds, 2));
                if (status is < 200 or > 299)
                {
                    failures.Add(status == 0 ? failure : "publish-http-" + status.ToString(CultureInfo.InvariantCulture));
                }
            }

            done.SetResult((times, failures));
        }
    }

    private int Post(string body)
    {
        if (_socket is null)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 10000, SendTimeout = 10000 };
            socket.Connect(_url.Host, _url.Port);
            _socket = socket;
        }

        byte[] content = Encoding.UTF8.GetBytes(body);
        byte[] head = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"POST {_url.PathAndQuery} HTTP/1.1\r\nHost: {_url.Authority}\r\nContent-Type: application/json\r\nContent-Length: {content.Length}\r\n\r\n"));
        _socket.Send(head);
        _socket.Send(content);

        // Status line and headers, then exactly Content-Length bytes of body (the admin APIs answer with a length).
        int filled = 0, headerEnd = -1;
        while (headerEnd < 0)
        {
            int n = _socket.Receive(_buffer, filled, _buffer.Length - filled, SocketFlags.None);
            if (n == 0)
            {
                throw new IOException("publish connection closed");
            }

            filled += n;
            headerEnd = new ReadOnlySpan<byte>(_buffer, 0, filled).IndexOf("\r\n\r\n"u8);
            if (headerEnd < 0 && filled == _buffer.Length)
            {
                throw new FormatException("publish response headers too large");
            }
        }

        string headers = Encoding.ASCII.GetString(_buffer, 0, headerEnd);
        int status = int.Parse(headers.AsSpan(9, 3), CultureInfo.InvariantCulture);
        int length = 0;
        bool close = false;
        foreach (string line in headers.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                length = int.Parse(line.AsSpan(15).Trim(), CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase) && line.Contains("close", StringComparison.OrdinalIgnoreCase))
            {
                close = true;
            }
            else if (line.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase) && line.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                length = -1;
            }
        }

        int have = filled - (headerEnd + 4);
        if (length < 0)
        {
            // Chunked (Kestrel's admin answers): the body is small; read until the last chunk "0\r\n\r\n".
            int start = headerEnd + 4;
            while (!EndsChunked(new ReadOnlySpan<byte>(_buffer, start, filled - start)))
            {
                if (filled == _buffer.Length)
                {
                    throw new FormatException("publish response body too large");
                }

                int n = _socket.Receive(_buffer, filled, _buffer.Length - filled, SocketFlags.None);
                if (n == 0)
                {
                    throw new IOException("publish connection closed");
                }

                filled += n;
            }

            length = have = 0;
        }

        while (have < length)
        {
            int n = _socket.Receive(_buffer, 0, Math.Min(_buffer.Length, length - have), SocketFlags.None);
            if (n == 0)
            {
                throw new IOException("publish connection closed");
            }

            have += n;
        }

        if (close)
        {
            _socket.Dispose();
            _socket = null;
        }

        return status;
    }

    private static bool EndsChunked(ReadOnlySpan<byte> body) =>
        body.SequenceEqual("0\r\n\r\n"u8) || body.EndsWith("\r\n0\r\n\r\n"u8);

    public void Dispose()
    {
        _jobs.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(15));
        _socket?.Dispose();
    }
}
