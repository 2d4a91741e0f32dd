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

    private PromptPublisher(Options o, HttpClient? http, ConnectionMultiplexer? redis, PromptStream? stream)
    {
        _o = o;
        _http = http;
        _redis = redis;
        _stream = stream;
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
        _http?.Dispose();
        if (_redis is not null)
        {
            await _redis.DisposeAsync().ConfigureAwait(false);
        }
    }
}
