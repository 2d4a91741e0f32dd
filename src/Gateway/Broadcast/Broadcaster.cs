using System.Buffers;
using System.Text.Json;
using Gateway.Diagnostics;
using Gateway.Protocol.Buffers;
using Gateway.Protocol.EngineIO;
using Gateway.Protocol.SocketIO;
using Gateway.Protocol.WebSockets;

namespace Gateway.Broadcast;

/// <summary>What a publish produced.</summary>
public readonly record struct PublishResult(string Id, long Sequence);

/// <summary>A channel's last prompt, kept for sockets that join after it was published.</summary>
internal sealed record CurrentPrompt(long Sequence, long PublishedAt, PromptFrames Frames);

/// <summary>One Socket.IO text packet in both wire forms: a server WebSocket text frame and a polling record.</summary>
internal sealed class PromptFrames(byte[] webSocketFrame, byte[] pollingRecord)
{
    public byte[] WebSocketFrame { get; } = webSocketFrame;

    public byte[] PollingRecord { get; } = pollingRecord;

    public static PromptFrames From(ReadOnlySpan<byte> packet)
    {
        var ws = new byte[WebSocketLength(packet.Length)];
        WriteWebSocket(ws, packet);
        var polling = new byte[1 + packet.Length];
        WritePolling(polling, packet);
        return new PromptFrames(ws, polling);
    }

    public static int WebSocketLength(int packetLength) =>
        WebSocketFrameHeader.GetHeaderLength(1 + packetLength, masked: false) + 1 + packetLength;

    /// <summary>The text frame "4&lt;packet&gt;".</summary>
    public static void WriteWebSocket(Span<byte> destination, ReadOnlySpan<byte> packet)
    {
        int header = WebSocketFrameHeader.Write(destination, WebSocketOpcode.Text, fin: true, 1 + packet.Length);
        destination[header] = (byte)('0' + (byte)EngineIOPacketType.Message);
        packet.CopyTo(destination.Slice(header + 1));
    }

    /// <summary>The record "4&lt;packet&gt;".</summary>
    public static void WritePolling(Span<byte> destination, ReadOnlySpan<byte> packet)
    {
        destination[0] = (byte)('0' + (byte)EngineIOPacketType.Message);
        packet.CopyTo(destination.Slice(1));
    }
}

/// <summary>
/// The single writer of the <see cref="BroadcastRing"/>: encodes each published message once per wire form — a
/// complete server WebSocket frame and a polling record — and wakes the fan-out.
/// </summary>
internal sealed class Broadcaster
{
    private readonly BroadcastRing _ring;
    private readonly IRingSignal _fanOut;
    private readonly ChannelRegistry _channels;
    private readonly GatewayMetrics _metrics;
    private readonly IReadOnlyList<byte[]> _namespaces;
    private readonly Lock _writeLock = new();
    private readonly PooledBufferWriter _packet = new(1024);
    private readonly bool _lateJoin;
    private readonly PromptTracker? _tracker;

    // Late joiners: the last prompt of each (namespace, channel), keyed by CurrentKey.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, CurrentPrompt> _current = new();

    public Broadcaster(BroadcastRing ring, IRingSignal fanOut, ChannelRegistry channels, GatewayMetrics metrics, IReadOnlyList<byte[]> namespaces, bool lateJoin = false, PromptTracker? tracker = null)
    {
        _lateJoin = lateJoin;
        _tracker = tracker;
        _ring = ring;
        _fanOut = fanOut;
        _channels = channels;
        _metrics = metrics;
        _namespaces = namespaces;
    }

    /// <summary>
    /// Publishes <paramref name="eventName"/> with <paramref name="arguments"/> (a JSON array: the event's arguments)
    /// to a namespace, or to one channel of it. <paramref name="tag"/>, when given, follows the arguments (a prompt
    /// sent ahead, <see cref="RevealTag"/>); <paramref name="offset"/>, when given, is appended as the last argument
    /// (socket.io's connection-state-recovery offset). <paramref name="origin"/> goes into the prompt's lifecycle record.
    /// </summary>
    public PublishResult Publish(int namespaceIndex, string? channel, string eventName, JsonElement arguments, string? id = null, string? offset = null, PromptOrigin origin = default, RevealTag? tag = null)
    {
        if (arguments.ValueKind != JsonValueKind.Array)
        {
            throw new ArgumentException("arguments must be a JSON array", nameof(arguments));
        }

        id ??= Guid.NewGuid().ToString("N");
        int channelId = channel is null ? -1 : _channels.GetOrAdd(channel);
        lock (_writeLock)
        {
            WriteEventPacket(_packet, _namespaces[namespaceIndex], eventName, arguments, offset, tag);
            return Commit(namespaceIndex, channelId, _packet.WrittenSpan, id, channel, eventName, origin);
        }
    }

    /// <summary>
    /// Publishes an already encoded Socket.IO text packet (no attachments); <paramref name="eventName"/> only names it
    /// in its lifecycle record.
    /// </summary>
    public PublishResult PublishPacket(int namespaceIndex, int channelId, ReadOnlySpan<byte> socketIOPacket, string id, string eventName = "")
    {
        lock (_writeLock)
        {
            return Commit(namespaceIndex, channelId, socketIOPacket, id, null, eventName, default);
        }
    }

    /// <summary>
    /// Encodes an event in both wire forms outside the ring: what a recovering socket is replayed. Same bytes as a
    /// publish of the same event would put in the ring.
    /// </summary>
    public PromptFrames Encode(int namespaceIndex, string eventName, JsonElement arguments, string? offset, RevealTag? tag = null)
    {
        var packet = new PooledBufferWriter(512);
        try
        {
            WriteEventPacket(packet, _namespaces[namespaceIndex], eventName, arguments, offset, tag);
            return PromptFrames.From(packet.WrittenSpan);
        }
        finally
        {
            packet.Dispose();
        }
    }

    /// <summary>
    /// The current prompts (younger than <paramref name="maxAgeMs"/>) a socket joining namespace
    /// <paramref name="namespaceIndex"/> with <paramref name="channelIds"/> (-1: the namespace itself) has not had from
    /// the ring: those published before ring sequence <paramref name="before"/>. In publish order.
    /// </summary>
    public void CollectCurrent(int namespaceIndex, ReadOnlySpan<int> channelIds, long before, int maxAgeMs, List<CurrentPrompt> into)
    {
        if (maxAgeMs <= 0 || _current.IsEmpty)
        {
            return;
        }

        long now = Environment.TickCount64;
        foreach (int channelId in channelIds)
        {
            if (_current.TryGetValue(CurrentKey(namespaceIndex, channelId), out CurrentPrompt? prompt) &&
                prompt.Sequence < before && now - prompt.PublishedAt <= maxAgeMs)
            {
                into.Add(prompt);
            }
        }

        if (into.Count > 1)
        {
            into.Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
        }
    }

    // Socket.IO packet: 2[/nsp,]["event",arg1,…[,{"id":…,"revealAt":…}][,"offset"]]
    private static void WriteEventPacket(PooledBufferWriter packet, byte[] nsp, string eventName, JsonElement arguments, string? offset, RevealTag? tag)
    {
        packet.Reset();
        SocketIOPacketWriter.WriteHeader(packet, SocketIOPacketType.Event, nsp);
        using var json = new Utf8JsonWriter(packet, new JsonWriterOptions { SkipValidation = true });
        json.WriteStartArray();
        json.WriteStringValue(eventName);
        foreach (JsonElement argument in arguments.EnumerateArray())
        {
            argument.WriteTo(json);
        }

        tag?.WriteTo(json);
        if (offset is not null)
        {
            json.WriteStringValue(offset);
        }

        json.WriteEndArray();
    }

    private static long CurrentKey(int namespaceIndex, int channelId) => ((long)namespaceIndex << 32) | (uint)(channelId + 1);

    private PublishResult Commit(int namespaceIndex, int channelId, ReadOnlySpan<byte> packet, string id, string? channel, string eventName, in PromptOrigin origin)
    {
        RingSlot slot = _ring.BeginWrite(out long sequence);
        slot.NamespaceIndex = namespaceIndex;
        slot.ChannelId = channelId;
        slot.Id = id;

        // WebSocket form: one text frame "4<packet>".
        int messageLength = 1 + packet.Length;
        int wsLength = PromptFrames.WebSocketLength(packet.Length);
        EnsureCapacity(ref slot.WebSocketFrames, wsLength);
        PromptFrames.WriteWebSocket(slot.WebSocketFrames, packet);
        slot.WebSocketLength = wsLength;

        // Polling form: the record "4<packet>" (separators are added when records are queued).
        EnsureCapacity(ref slot.PollingRecords, messageLength);
        PromptFrames.WritePolling(slot.PollingRecords, packet);
        slot.PollingLength = messageLength;

        if (_lateJoin)
        {
            // Before the head moves: a socket that sees the new head also finds this as the current prompt.
            PromptFrames frames = PromptFrames.From(packet);
            _current[CurrentKey(namespaceIndex, channelId)] = new CurrentPrompt(sequence, Environment.TickCount64, frames);
        }

        _tracker?.Begin(sequence, id, namespaceIndex, channel, eventName, origin);
        _ring.EndWrite(slot, sequence);
        _metrics.MessagePublished();
        _fanOut.Signal();
        return new PublishResult(id, sequence);
    }

    private static void EnsureCapacity(ref byte[] buffer, int length)
    {
        if (buffer.Length >= length)
        {
            return;
        }

        // Readers may still be copying the old array: it is dropped to the GC, never returned to a pool.
        buffer = GC.AllocateUninitializedArray<byte>((int)Math.Max(length, Math.Min(int.MaxValue, (long)buffer.Length * 2)));
    }
}
