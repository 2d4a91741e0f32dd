using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Gateway.Tests.EndToEnd;

namespace Gateway.Tests.Redis;

/// <summary>
/// tests/node/region-client.mjs as a child process: many stock socket.io-client 4.8 sockets in one Node process,
/// driven by JSON-line commands (see the script's header for each command). Killed by pid on dispose.
/// </summary>
public sealed class RegionClient : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly Process _process;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly ConcurrentQueue<string> _log = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Task _reader;
    private int _nextId;

    private RegionClient(Process process)
    {
        _process = process;
        _reader = Task.Run(ReadLoopAsync);
        process.ErrorDataReceived += (_, e) => Record("err", e.Data);
        process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    /// <summary>What the worker printed besides replies (stderr, unexpected lines), for failure messages.</summary>
    public string RecentOutput => string.Join("\n", _log.TakeLast(40));

    /// <summary>Starts the worker; it exits by itself after <paramref name="hardLimit"/> or when its stdin closes.</summary>
    public static async Task<RegionClient> StartAsync(TimeSpan hardLimit)
    {
        ProcessStartInfo psi = NodeClient.Script("region-client.mjs",
            ["--max-ms", ((long)hardLimit.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start node region-client.mjs");
        var client = new RegionClient(process);
        Task ready = client._ready.Task;
        if (await Task.WhenAny(ready, Task.Delay(TimeSpan.FromSeconds(30))) != ready)
        {
            await client.DisposeAsync();
            throw new TimeoutException($"region-client.mjs did not print ready within 30 s:\n{client.RecentOutput}");
        }

        return client;
    }

    private void Record(string stream, string? line)
    {
        if (line is null)
        {
            return;
        }

        _log.Enqueue($"[{stream}] {(line.Length > 2000 ? line[..2000] + "…" : line)}");
        while (_log.Count > 200 && _log.TryDequeue(out _))
        {
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                JsonElement message;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    message = doc.RootElement.Clone();
                }
                catch (JsonException)
                {
                    Record("out", line);
                    continue;
                }

                if (message.TryGetProperty("id", out JsonElement id) && id.ValueKind == JsonValueKind.Number &&
                    _pending.TryRemove(id.GetInt32(), out TaskCompletionSource<JsonElement>? waiter))
                {
                    waiter.TrySetResult(message);
                    continue;
                }

                if (message.TryGetProperty("type", out JsonElement type) && type.GetString() == "ready")
                {
                    _ready.TrySetResult();
                    continue;
                }

                Record("out", line);
            }
        }
        finally
        {
            foreach (TaskCompletionSource<JsonElement> waiter in _pending.Values)
            {
                waiter.TrySetException(new InvalidOperationException($"region-client.mjs ended its output:\n{RecentOutput}"));
            }

            _ready.TrySetException(new InvalidOperationException($"region-client.mjs ended its output:\n{RecentOutput}"));
        }
    }

    /// <summary>Sends one command (an object with "cmd") and returns its reply; throws when the reply is not ok.</summary>
    public async Task<JsonElement> SendAsync(string cmd, object? arguments = null, TimeSpan? timeout = null)
    {
        int id = Interlocked.Increment(ref _nextId);
        var waiter = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = waiter;
        var command = arguments is null
            ? new Dictionary<string, object?>()
            : JsonSerializer.Deserialize<Dictionary<string, object?>>(JsonSerializer.Serialize(arguments, Json), Json)!;
        command["id"] = id;
        command["cmd"] = cmd;
        await _writeLock.WaitAsync();
        try
        {
            await _process.StandardInput.WriteLineAsync(JsonSerializer.Serialize(command, Json));
            await _process.StandardInput.FlushAsync();
        }
        finally
        {
            _writeLock.Release();
        }

        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(30);
        if (await Task.WhenAny(waiter.Task, Task.Delay(limit)) != waiter.Task)
        {
            _pending.TryRemove(id, out _);
            throw new TimeoutException($"region-client.mjs: no reply to '{cmd}' within {limit}:\n{RecentOutput}");
        }

        JsonElement reply = await waiter.Task;
        if (!reply.GetProperty("ok").GetBoolean())
        {
            throw new InvalidOperationException($"region-client.mjs: '{cmd}' failed: {reply.GetProperty("error").GetString()}\n{RecentOutput}");
        }

        return reply;
    }

    /// <summary>Connects <paramref name="count"/> sockets to <paramref name="url"/>; fails unless every one connected.</summary>
    /// <param name="transports">socket.io-client's <c>transports</c> (null: websocket only), or <c>"default"</c> for its own (polling, then upgrade).</param>
    public async Task<int[]> ConnectAsync(string url, int count, string group = "default", object? auth = null, int batch = 50, object? transports = null)
    {
        JsonElement reply = await SendAsync("connect", new { url, count, group, auth, batch, timeoutMs = 10000, transports }, TimeSpan.FromSeconds(20 + count / 10));
        int[] indexes = reply.GetProperty("indexes").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int connected = reply.GetProperty("connected").GetInt32();
        if (connected != count)
        {
            throw new InvalidOperationException(
                $"only {connected} of {count} sockets connected to {url}: {Truncate(reply.GetProperty("failed").GetRawText(), 1500)}");
        }

        return indexes;
    }

    /// <summary>
    /// Connects one socket that the server must refuse: the message of its CONNECT_ERROR (socket.io-client's
    /// <c>connect_error</c>), or fails when it connects. The socket stays (refused, not reconnecting) until disconnected.
    /// </summary>
    public async Task<string> ConnectRefusedAsync(string url, object? auth, string group = "refused")
    {
        JsonElement reply = await SendAsync("connect", new { url, count = 1, group, auth, batch = 1, timeoutMs = 20000, stopOnError = true }, TimeSpan.FromSeconds(30));
        if (reply.GetProperty("connected").GetInt32() != 0)
        {
            throw new InvalidOperationException($"the socket connected to {url}; expected a CONNECT_ERROR");
        }

        // "connect_error: <message> (last connect_error: <message>)": the message, when it was a connect_error.
        string error = reply.GetProperty("failed")[0].GetProperty("error").GetString()!;
        const string prefix = "connect_error: ";
        if (!error.StartsWith(prefix, StringComparison.Ordinal))
        {
            return error;
        }

        string message = error[prefix.Length..];
        int last = message.IndexOf(" (last connect_error: ", StringComparison.Ordinal);
        return last < 0 ? message : message[..last];
    }

    /// <summary>Closes the transports of the selected sockets; with hold, they stay away until <see cref="ResumeAsync"/>.</summary>
    public async Task<int> DropAsync(object? which, bool hold) =>
        (await SendAsync("drop", new { which, hold })).GetProperty("dropped").GetInt32();

    /// <summary>Reconnects held sockets, to <paramref name="url"/> when given; each socket's id and recovered flag.</summary>
    public async Task<ResumedSocket[]> ResumeAsync(object? which, string? url)
    {
        JsonElement reply = await SendAsync("resume", new { which, url, timeoutMs = 10000 }, TimeSpan.FromSeconds(15));
        return reply.GetProperty("sockets").Deserialize<ResumedSocket[]>(Json)!;
    }

    public async Task<AnswerResult[]> AnswerAsync(object? which, string promptId, int choice, int timeoutMs = 5000)
    {
        JsonElement reply = await SendAsync("answer", new { which, promptId, choice, timeoutMs }, TimeSpan.FromMilliseconds(timeoutMs + 10000));
        return reply.GetProperty("results").Deserialize<AnswerResult[]>(Json)!;
    }

    /// <summary>Emits <paramref name="event"/> with one argument and an ack from every selected socket at once.</summary>
    public async Task<AnswerResult[]> EmitAsync(object? which, string @event, object payload, int timeoutMs = 5000)
    {
        JsonElement reply = await SendAsync("answer", new { which, @event, payload, timeoutMs }, TimeSpan.FromMilliseconds(timeoutMs + 10000));
        return reply.GetProperty("results").Deserialize<AnswerResult[]>(Json)!;
    }

    /// <summary>Points the selected sockets' own automatic reconnection at <paramref name="url"/>.</summary>
    public async Task<int> RetargetAsync(object? which, string url) =>
        (await SendAsync("retarget", new { which, url })).GetProperty("retargeted").GetInt32();

    /// <summary>
    /// Waits until each selected socket saw at least <paramref name="count"/> events named <paramref name="event"/>
    /// (with <paramref name="tag"/>: only those whose first argument's <c>tag</c> is it).
    /// </summary>
    public async Task<(bool Done, string Counts)> WaitForEventsAsync(object? which, int count, TimeSpan limit, string @event = "prompt", string? tag = null)
    {
        JsonElement reply = await SendAsync("wait", new { which, count, @event, tag, timeoutMs = (int)limit.TotalMilliseconds }, limit + TimeSpan.FromSeconds(10));
        return (reply.GetProperty("done").GetBoolean(), reply.GetProperty("counts").GetRawText());
    }

    public async Task<bool> WaitConnectedAsync(object? which, TimeSpan limit) => (await WaitTransportAsync(which, null, limit)).Done;

    /// <summary>
    /// Waits until each selected socket is connected on <paramref name="transport"/> ("websocket": upgraded; null: any);
    /// how many sockets are on which transport at the end.
    /// </summary>
    public async Task<(bool Done, string Transports)> WaitTransportAsync(object? which, string? transport, TimeSpan limit)
    {
        JsonElement reply = await SendAsync("connected", new { which, transport, timeoutMs = (int)limit.TotalMilliseconds }, limit + TimeSpan.FromSeconds(10));
        return (reply.GetProperty("done").GetBoolean(), reply.GetProperty("transports").GetRawText());
    }

    /// <summary>Everything each selected socket saw; with clear, its events are forgotten afterwards.</summary>
    public async Task<SocketReport[]> ReportAsync(object? which = null, bool clear = false)
    {
        JsonElement reply = await SendAsync("report", new { which, clear, events = true }, TimeSpan.FromSeconds(60));
        return reply.GetProperty("sockets").Deserialize<SocketReport[]>(Json)!;
    }

    /// <summary>A client disconnect (Socket.IO DISCONNECT) of the selected sockets (every socket by default).</summary>
    public async Task DisconnectAsync(object? which = null) => await SendAsync("disconnect", new { which });

    public static object Group(string group) => new { group };

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        await Task.WhenAny(_reader, Task.Delay(2000));
        _process.Dispose();
        _writeLock.Dispose();
    }

    internal static string Truncate(string s, int max) => s.Length <= max ? s : string.Concat(s.AsSpan(0, max), "…");
}

public sealed record ResumedSocket(int Index, string? Id, bool Connected, bool Recovered, string? Error);

public sealed record AnswerResult(int Index, string? Id, JsonElement[]? Ack, string? Error, long Ms);

public sealed record ConnectRecord(long T, string? Id, bool Recovered);

public sealed record DisconnectRecord(long T, string Reason);

public sealed record ErrorRecord(long T, string Message);

/// <summary>One event a socket received: its name, its arguments as received (trailing offset included), Date.now().</summary>
public sealed record ReceivedEvent(string Ev, JsonElement[] Args, long T)
{
    /// <summary>The trailing string argument (the connection-state-recovery offset), or null.</summary>
    public string? Offset => Args.Length >= 2 && Args[^1].ValueKind == JsonValueKind.String ? Args[^1].GetString() : null;

    /// <summary>The first argument's property <paramref name="name"/> as text, or null.</summary>
    public string? Field(string name) =>
        Args.Length > 0 && Args[0].ValueKind == JsonValueKind.Object && Args[0].TryGetProperty(name, out JsonElement v)
            ? (v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText())
            : null;

    public override string ToString() => $"{Ev}{JsonSerializer.Serialize(Args)}@{T}";
}

public sealed record SocketReport(
    int Index, string Group, string Url, string? Id, string? Pid, string? Transport, bool Connected, bool Recovered,
    ConnectRecord[] Connects, DisconnectRecord[] Disconnects, ErrorRecord[] Errors, ReceivedEvent[] Events)
{
    public IEnumerable<ReceivedEvent> Prompts(string tag) => Events.Where(e => e.Ev == "prompt" && e.Field("tag") == tag);

    public string Describe() =>
        $"socket {Index} ({Group}, {Url}, id {Id}, pid {Pid}, transport {Transport}, connected {Connected}, recovered {Recovered}; " +
        $"connects [{string.Join(", ", Connects.Select(c => $"{c.Id}{(c.Recovered ? " recovered" : "")}@{c.T}"))}], " +
        $"disconnects [{string.Join(", ", Disconnects.Select(d => $"{d.Reason}@{d.T}"))}], " +
        $"errors [{string.Join(", ", Errors.Select(e => e.Message))}]; {Events.Length} events: " +
        RegionClient.Truncate(string.Join(" ", Events.Select(e => e.ToString())), 1200) + ")";
}
