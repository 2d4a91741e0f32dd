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
/// The single writer of the <see cref="BroadcastRing"/>: encodes each published message once per wire form — a
/// complete server WebSocket frame and a polling record — and wakes the fan-out.
/// </summary>
internal sealed class Broadcaster
{
    private readonly BroadcastRing _ring;
    private readonly FanOut _fanOut;
    private readonly ChannelRegistry _channels;
    private readonly GatewayMetrics _metrics;
    private readonly IReadOnlyList<byte[]> _namespaces;
    private readonly Lock _writeLock = new();
    private readonly PooledBufferWriter _packet = new(1024);

    public Broadcaster(BroadcastRing ring, FanOut fanOut, ChannelRegistry channels, GatewayMetrics metrics, IReadOnlyList<byte[]> namespaces)
    {
        _ring = ring;
        _fanOut = fanOut;
        _channels = channels;
        _metrics = metrics;
        _namespaces = namespaces;
    }

    /// <summary>
    /// Publishes <paramref name="eventName"/> with <paramref name="arguments"/> (a JSON array: the event's arguments)
    /// to a namespace, or to one channel of it.
    /// </summary>
    public PublishResult Publish(int namespaceIndex, string? channel, string eventName, JsonElement arguments, string? id = null)
    {
        if (arguments.ValueKind != JsonValueKind.Array)
        {
            throw new ArgumentException("arguments must be a JSON array", nameof(arguments));
        }

        id ??= Guid.NewGuid().ToString("N");
        int channelId = channel is null ? -1 : _channels.GetOrAdd(channel);
        lock (_writeLock)
        {
            // Socket.IO packet: 2[/nsp,]["event",arg1,…]
            _packet.Reset();
            SocketIOPacketWriter.WriteHeader(_packet, SocketIOPacketType.Event, _namespaces[namespaceIndex]);
            using (var json = new Utf8JsonWriter(_packet, new JsonWriterOptions { SkipValidation = true }))
            {
                json.WriteStartArray();
                json.WriteStringValue(eventName);
                foreach (JsonElement argument in arguments.EnumerateArray())
                {
                    argument.WriteTo(json);
                }

                json.WriteEndArray();
            }

            return Commit(namespaceIndex, channelId, _packet.WrittenSpan, id);
        }
    }

    /// <summary>Publishes an already encoded Socket.IO text packet (no attachments).</summary>
    public PublishResult PublishPacket(int namespaceIndex, int channelId, ReadOnlySpan<byte> socketIOPacket, string id)
    {
        lock (_writeLock)
        {
            return Commit(namespaceIndex, channelId, socketIOPacket, id);
        }
    }

    private PublishResult Commit(int namespaceIndex, int channelId, ReadOnlySpan<byte> packet, string id)
    {
        RingSlot slot = _ring.BeginWrite(out long sequence);
        slot.NamespaceIndex = namespaceIndex;
        slot.ChannelId = channelId;
        slot.Id = id;

        // WebSocket form: one text frame "4<packet>".
        int messageLength = 1 + packet.Length;
        int wsLength = WebSocketFrameHeader.GetHeaderLength(messageLength, masked: false) + messageLength;
        EnsureCapacity(ref slot.WebSocketFrames, wsLength);
        Span<byte> ws = slot.WebSocketFrames;
        int header = WebSocketFrameHeader.Write(ws, WebSocketOpcode.Text, fin: true, messageLength);
        ws[header] = (byte)('0' + (byte)EngineIOPacketType.Message);
        packet.CopyTo(ws.Slice(header + 1));
        slot.WebSocketLength = wsLength;

        // Polling form: the record "4<packet>" (separators are added when records are queued).
        EnsureCapacity(ref slot.PollingRecords, messageLength);
        slot.PollingRecords[0] = (byte)('0' + (byte)EngineIOPacketType.Message);
        packet.CopyTo(slot.PollingRecords.AsSpan(1));
        slot.PollingLength = messageLength;

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
