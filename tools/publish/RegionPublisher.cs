using System.Diagnostics;
using System.Globalization;
using Gateway.Streams;
using StackExchange.Redis;

namespace Gateway.Publish;

/// <summary>What happened in one region.</summary>
/// <param name="Latency">XADD + PUBLISH of the attempt that succeeded (connecting not included).</param>
public sealed record RegionResult(string Name, bool Ok, int Attempts, TimeSpan Latency, string? StreamId, string? Error);

/// <summary>
/// Writes one prompt to one region: connect, <see cref="PromptStream.PublishAsync"/>, and on failure a short backoff
/// and another attempt, up to the retry limit. Every attempt (connect included) is cut off at the timeout, so a region
/// never takes much longer than (retries + 1) × timeout. A retried XADD may leave the prompt twice in the stream;
/// gateways deduplicate by id.
/// </summary>
public sealed class RegionPublisher : IAsyncDisposable
{
    private readonly Region _region;
    private readonly ConfigurationOptions _configuration;
    private readonly List<Task<ConnectionMultiplexer>> _connects = [];
    private Task<ConnectionMultiplexer>? _connect;

    public RegionPublisher(Region region, TimeSpan timeout)
    {
        _region = region;
        _configuration = region.Configuration.Clone();
        int ms = (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue);
        _configuration.AbortOnConnectFail = false;
        _configuration.ConnectTimeout = ms;
        _configuration.ConnectRetry = 1;
        _configuration.AsyncTimeout = ms;
        _configuration.SyncTimeout = ms;
        // A command on a connection that is down fails at once (with the connection's reason) instead of waiting
        // for a reconnect; the next attempt connects afresh.
        _configuration.BacklogPolicy = BacklogPolicy.FailFast;
        _configuration.ClientName ??= "gateway-publish";
    }

    /// <summary>Delay before attempt <paramref name="attempt"/> (2, 3, …): 100 ms doubling, at most 1 s.</summary>
    public static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(Math.Min(1000, 100 << Math.Min(attempt - 2, 4)));

    public async Task<RegionResult> PublishAsync(PromptStream stream, PromptEntry prompt, int retries, TimeSpan timeout)
    {
        string error = "not attempted";
        int attempt = 0;
        while (attempt <= retries)
        {
            attempt++;
            if (attempt > 1)
            {
                await Task.Delay(Backoff(attempt)).ConfigureAwait(false);
            }

            Task<(string StreamId, TimeSpan Elapsed)> work = AttemptAsync(stream, prompt);
            try
            {
                (string streamId, TimeSpan elapsed) = await work.WaitAsync(timeout).ConfigureAwait(false);
                return new RegionResult(_region.Name, true, attempt, elapsed, streamId, null);
            }
            catch (TimeoutException)
            {
                // Name the servers: the operator must see which Redis did not answer.
                error = "timed out after " + FormatDuration(timeout) + " (" + string.Join(", ", _configuration.EndPoints.Select(e => e is System.Net.DnsEndPoint d ? $"{d.Host}:{d.Port}" : e.ToString())) + ")";
                _ = work.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // observed, never rethrown
            }
            catch (Exception e) // whatever one region throws, the others still publish and it gets its line
            {
                error = Reason(e);
            }
        }

        return new RegionResult(_region.Name, false, attempt, TimeSpan.Zero, null, error);
    }

    private async Task<(string, TimeSpan)> AttemptAsync(PromptStream stream, PromptEntry prompt)
    {
        ConnectionMultiplexer redis = await ConnectionAsync().ConfigureAwait(false);
        long start = Stopwatch.GetTimestamp();
        try
        {
            string streamId = await stream.PublishAsync(redis, prompt).ConfigureAwait(false);
            return (streamId, Stopwatch.GetElapsedTime(start));
        }
        catch (RedisConnectionException e) when (!redis.IsConnected)
        {
            // "No connection is active/available to service this operation: XADD …; <why>": say it plainly.
            string message = Reason(e);
            int why = message.IndexOf("; ", StringComparison.Ordinal);
            string endpoints = string.Join(",", _configuration.EndPoints.Select(EndPointCollection.ToString));
            throw new IOException(why > 0
                ? $"cannot connect to {endpoints}: {message[(why + 2)..]}"
                : $"cannot connect to {endpoints} within {FormatDuration(TimeSpan.FromMilliseconds(_configuration.ConnectTimeout))}", e);
        }
    }

    // The current connection, or a fresh one when the last connect finished without a connection. A connect still in
    // progress (an attempt timed out during it) is awaited, not duplicated.
    private Task<ConnectionMultiplexer> ConnectionAsync()
    {
        if (_connect is null || (_connect.IsCompleted && (!_connect.IsCompletedSuccessfully || !_connect.Result.IsConnected)))
        {
            _connect = ConnectionMultiplexer.ConnectAsync(_configuration);
            _connects.Add(_connect);
        }

        return _connect;
    }

    /// <summary>One line: the exception's first sentence, without the client library's diagnostics dump.</summary>
    public static string Reason(Exception e)
    {
        string message = e.Message.ReplaceLineEndings(" ");
        int cut = message.IndexOf(", mc:", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = message.IndexOf(", last:", StringComparison.Ordinal);
        }

        if (cut > 0)
        {
            message = message[..cut];
        }

        return message.Length > 240 ? message[..240] + "…" : message;
    }

    public static string FormatDuration(TimeSpan t) =>
        t.TotalMilliseconds < 1000
            ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalMilliseconds:0}ms")
            : string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.###}s");

    /// <summary>Closes every connection this region opened; bounded, as a region that is down may not answer.</summary>
    public async ValueTask DisposeAsync()
    {
        var closing = new List<Task>();
        foreach (Task<ConnectionMultiplexer> connect in _connects)
        {
            closing.Add(connect.ContinueWith(static t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    t.Result.Dispose();
                }
                else
                {
                    _ = t.Exception;
                }
            }, TaskScheduler.Default));
        }

        try
        {
            await Task.WhenAll(closing).WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }
}
