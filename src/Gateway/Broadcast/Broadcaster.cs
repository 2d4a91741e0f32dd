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

/// <summary>
/// A channel's last prompt, kept for sockets that join after it was published: its ring sequence, when, its frames,
/// and the channel id the ring addressed it to (a socket whose id for the name differs was no member then: the ring
/// does not bring it the prompt).
/// </summary>
internal sealed record CurrentPrompt(long Sequence, long PublishedAt, PromptFrames Frames, long ChannelId);

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
    private readonly PooledBufferWriter _packet = PooledBufferWriter.Resident(1024);
    private readonly int _lateJoinMaxAge;
    private readonly PromptTracker? _tracker;

    // Late joiners: the last prompt of each (namespace, channel name; null: the namespace itself). By name, not id: a
    // channel nobody was in when its prompt was published gets an id only when someone joins.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(int Namespace, string? Channel), CurrentPrompt> _current = new();
    private long _currentPrunedAt;

    // The late-join ages' clock (monotonic; a fake one in tests).
    private readonly TimeProvider _time;

    private long NowMs() => _time.GetTimestamp() / (_time.TimestampFrequency / 1000);

    /// <summary>Prompts kept for late joiners before those older than the late-join age are dropped.</summary>
    private const int CurrentPruneThreshold = 1024;

    public Broadcaster(BroadcastRing ring, IRingSignal fanOut, ChannelRegistry channels, GatewayMetrics metrics, IReadOnlyList<byte[]> namespaces, int lateJoinMaxAge = 0, PromptTracker? tracker = null, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _lateJoinMaxAge = lateJoinMaxAge;
        _tracker = tracker;
        _ring = ring;
        _fanOut = fanOut;
        _channels = channels;
        _metrics = metrics;
        _namespaces = namespaces;
    }

    /// <summary>
    /// Publishes <paramref name="eventName"/> with <paramref name="arguments"/> (a JSON array: the event's arguments)
    /// to a namespace, or to one channel of it: its members only (none, when nobody is in it yet; late joiners get it
    /// from the cache). <paramref name="offset"/>, when given, is appended as the last argument (socket.io's
    /// connection-state-recovery offset). A <paramref name="channel"/> that cannot be a channel is a caller's bug
    /// (the admin API and the stream reader refuse it first): it throws, it is never widened to the namespace.
    /// <paramref name="tag"/>, when given, follows the arguments (a prompt sent ahead, <see cref="RevealTag"/>).
    /// <paramref name="origin"/> goes into the prompt's lifecycle record.
    /// </summary>
    public PublishResult Publish(int namespaceIndex, string? channel, string eventName, JsonElement arguments, string? id = null, string? offset = null, PromptOrigin origin = default, RevealTag? tag = null)
    {
        if (arguments.ValueKind != JsonValueKind.Array)
        {
            throw new ArgumentException("arguments must be a JSON array", nameof(arguments));
        }

        if (channel is not null && !ChannelRegistry.IsValidName(channel))
        {
            throw new ArgumentException("not a channel name", nameof(channel));
        }

        id ??= Guid.NewGuid().ToString("N");
        lock (_channels.Gate)
        {
            long channelId = channel is null ? ChannelRegistry.WholeNamespace : _channels.FindLocked(channel);
            lock (_writeLock)
            {
                WriteEventPacket(_packet, _namespaces[namespaceIndex], eventName, arguments, offset, tag);
                return Commit(namespaceIndex, channelId, channel, _packet.WrittenSpan, id, eventName, origin);
            }
        }
    }

    /// <summary>
    /// Publishes an already encoded Socket.IO text packet (no attachments) to a ring target: the whole namespace, or a
    /// channel id (benchmarks and tests; a channel's prompt published this way is not kept for late joiners); <paramref name="eventName"/> only names it in its lifecycle record.
    /// </summary>
    public PublishResult PublishPacket(int namespaceIndex, long channelId, ReadOnlySpan<byte> socketIOPacket, string id, string eventName = "")
    {
        lock (_writeLock)
        {
            return Commit(namespaceIndex, channelId, channel: null, socketIOPacket, id, eventName, default);
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
    /// <paramref name="namespaceIndex"/> and the channels <paramref name="channels"/> (null: the namespace itself) with
    /// the ids <paramref name="channelIds"/> will not have from the ring: those published before ring sequence
    /// <paramref name="before"/>, and those addressed to another id of the name (when nobody, or an earlier set of
    /// members, was in it). In publish order.
    /// </summary>
    public void CollectCurrent(int namespaceIndex, ReadOnlySpan<string?> channels, ReadOnlySpan<long> channelIds, long before, int maxAgeMs, List<CurrentPrompt> into)
    {
        if (maxAgeMs <= 0 || _current.IsEmpty)
        {
            return;
        }

        long now = NowMs();
        for (int i = 0; i < channels.Length; i++)
        {
            if (_current.TryGetValue((namespaceIndex, channels[i]), out CurrentPrompt? prompt) &&
                (prompt.Sequence < before || prompt.ChannelId != channelIds[i]) && now - prompt.PublishedAt <= maxAgeMs)
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

    private PublishResult Commit(int namespaceIndex, long channelId, string? channel, ReadOnlySpan<byte> packet, string id, string eventName, in PromptOrigin origin)
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

        if (_lateJoinMaxAge > 0 && (channel is not null || channelId == ChannelRegistry.WholeNamespace))
        {
            // Before the head moves: a socket that sees the new head also finds this as the current prompt.
            PromptFrames frames = PromptFrames.From(packet);
            long now = NowMs();
            _current[(namespaceIndex, channel)] = new CurrentPrompt(sequence, now, frames, channelId);
            PruneCurrent(now);
        }

        _tracker?.Begin(sequence, id, namespaceIndex, channel, eventName, origin);
        _ring.EndWrite(slot, sequence);
        _metrics.MessagePublished();
        _fanOut.Signal();
        return new PublishResult(id, sequence);
    }

    // Publishes to many names (a stream of per-channel prompts) must not keep every name's last prompt forever.
    private void PruneCurrent(long now)
    {
        if (_current.Count <= CurrentPruneThreshold || now - _currentPrunedAt < _lateJoinMaxAge)
        {
            return;
        }

        _currentPrunedAt = now;
        foreach (KeyValuePair<(int, string?), CurrentPrompt> entry in _current)
        {
            if (now - entry.Value.PublishedAt > _lateJoinMaxAge)
            {
                _current.TryRemove(entry);
            }
        }
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
