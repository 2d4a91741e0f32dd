using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.Prompts;
using Gateway.Redis;
using Gateway.Streams;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Gateway.Tests.Redis;

/// <summary>
/// A <see cref="StreamDelivery"/> over a real <see cref="BroadcastContext"/> (ring, metrics, fan-out with no threads
/// started), a <see cref="RecordedStream"/> in place of Redis and a fake wall clock: tests add entries, run rounds
/// the way the reader does, move the clock, and read what reached the ring.
/// </summary>
internal sealed class DeliveryHarness : IDisposable
{
    /// <summary>The fake clock's start (ms since the Unix epoch); stream ids are written relative to it.</summary>
    public const long T0 = 1_764_700_000_000;

    private long _read;

    /// <param name="configure">Options on top of Redis mode's defaults (namespaces <c>/</c> and <c>/quiz</c>).</param>
    /// <param name="start">Run the first round on an empty stream, as the reader does before anything else.</param>
    public DeliveryHarness(Action<GatewayOptions>? configure = null, bool start = true)
    {
        var options = new GatewayOptions { FanOutWorkers = 1, RingCapacity = 256, Namespaces = ["/", "/quiz"] };
        options.Redis.Configuration = "127.0.0.1:1"; // Redis mode's defaults (late join on); nothing connects
        configure?.Invoke(options);
        options.Normalize();
        Options = options;
        Context = new BroadcastContext(Microsoft.Extensions.Options.Options.Create(options), NullLoggerFactory.Instance);
        Delivery = new StreamDelivery(Context, options, PromptStream.DefaultKey, NullLogger.Instance);
        if (start)
        {
            Assert.Null(Delivery.Start(null, Now));
            Delivery.Load([], Now);
        }
    }

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.FromUnixTimeMilliseconds(T0));

    public GatewayOptions Options { get; }

    public BroadcastContext Context { get; }

    public StreamDelivery Delivery { get; }

    public RecordedStream Stream { get; } = new();

    public long Now => Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The stream id <paramref name="ms"/> after <see cref="T0"/>.</summary>
    public static StreamId Id(long ms, long seq = 0) => new(T0 + ms, seq);

    /// <summary>A prompt whose data is <c>[{"n":n}]</c>.</summary>
    public static PromptEntry Prompt(string id, int n = 0, string ns = "/", string? ch = null, long? revealAt = null) =>
        new(id, ns, ch, "prompt", $"[{{\"n\":{n}}}]", revealAt);

    /// <summary>
    /// <c>XADD</c> now: Redis stamps an entry with its own clock, so the fake clock moves up to the entry's id first
    /// (the clocks agree). Add to <see cref="Stream"/> directly to model a Redis clock ahead of the gateway's.
    /// </summary>
    public void Add(StreamId id, PromptEntry prompt) => Add(RecordedStream.Entry(id, prompt));

    public void Add(StreamEntry entry)
    {
        long ms = StreamId.Parse(entry.Id.ToString()).Ms;
        if (ms > Now)
        {
            Time.Advance(TimeSpan.FromMilliseconds(ms - Now));
        }

        Stream.Add(entry);
    }

    /// <summary>
    /// One of the reader's rounds (<c>PromptStreamReader.RoundAsync</c>) against the recorded stream: what is due,
    /// the bookkeeping check (again from the start when the stream was replaced), the entries after the cursor, what is
    /// due. Returns how many times the bookkeeping said "replaced".
    /// </summary>
    public int Round()
    {
        int replaced = 0;
        Delivery.PushDue(Now);
        while (Delivery.CheckBookkeeping(Stream.Bookkeeping))
        {
            replaced++;
        }

        foreach (StreamEntry entry in Stream.ReadAfter(Delivery.Cursor))
        {
            Delivery.Accept(entry, Now);
        }

        Delivery.PushDue(Now);
        return replaced;
    }

    /// <summary>Moves the fake clock, then pushes what became due (the reader's wait ends at the next reveal).</summary>
    public void Advance(long ms)
    {
        Time.Advance(TimeSpan.FromMilliseconds(ms));
        Delivery.PushDue(Now);
    }

    /// <summary>Every ring slot written since the last call, read as a fan-out member reads them.</summary>
    public List<Delivered> Drain()
    {
        var delivered = new List<Delivered>();
        var buffer = new ArrayBufferWriter<byte>();
        for (; _read < Context.Ring.Head; _read++)
        {
            Assert.Equal(RingRead.Done, Context.Ring.TryReadTarget(_read, out int namespaceIndex, out long channelId));
            buffer.Clear();
            Assert.Equal(RingRead.Done, Context.Ring.TryCopyTo(_read, RingForm.Polling, buffer));
            delivered.Add(Delivered.Parse(namespaceIndex, channelId, Encoding.UTF8.GetString(buffer.WrittenSpan)));
        }

        return delivered;
    }

    /// <summary>The offsets (stream ids) of what reached the ring since the last drain, in ring order.</summary>
    public string[] DrainOffsets() => Drain().Select(d => d.Offset!).ToArray();

    public void Dispose() => Context.Dispose();
}

/// <summary>One prompt as a socket gets it: its target and the Engine.IO polling record <c>42[/nsp,]["ev",…args,offset]</c>.</summary>
internal sealed record Delivered(int NamespaceIndex, long ChannelId, string Record, string Event, string Arguments, string? Offset)
{
    /// <param name="withOffset">The last argument is the stream id (Recovery:Enabled, the default).</param>
    public static Delivered Parse(int namespaceIndex, long channelId, string record, bool withOffset = true)
    {
        Assert.StartsWith("42", record, StringComparison.Ordinal); // Engine.IO message, Socket.IO event
        using JsonDocument json = JsonDocument.Parse(record.AsMemory(record.IndexOf('[', StringComparison.Ordinal)));
        JsonElement[] items = json.RootElement.EnumerateArray().ToArray();
        string? offset = withOffset ? items[^1].GetString() : null;
        string arguments = "[" + string.Join(",", items[1..(offset is null ? items.Length : ^1)].Select(i => i.GetRawText())) + "]";
        return new Delivered(namespaceIndex, channelId, record, items[0].GetString()!, arguments, offset);
    }

    public static Delivered Parse(PromptFrames frames, int namespaceIndex) =>
        Parse(namespaceIndex, -1, Encoding.UTF8.GetString(frames.PollingRecord));
}
