using System.Buffers;
using System.Text;
using System.Text.Json;
using CsCheck;
using Gateway.Protocol.EngineIO;
using Gateway.Protocol.Http;
using Gateway.Protocol.Proxy;
using Gateway.Protocol.SocketIO;
using Gateway.Protocol.WebSockets;
using HttpMethod = Gateway.Protocol.Http.HttpMethod;

namespace Gateway.Protocol.Tests.Fuzz;

/// <summary>
/// Valid inputs round-trip, per parser: a generated value is encoded (by the codec's writer, or as the client writes
/// it where the gateway has no writer) and must decode to the same value, consuming exactly what was written.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class RoundTripPropertyTests
{
    private const long Iterations = 20_000;

    private static readonly Gen<long> PayloadLength = Gen.Frequency(
        (3, Gen.Long[0, 125]),
        (2, Gen.OneOf(126L, 127L, 65535L, 65536L, int.MaxValue, long.MaxValue)),
        (2, Gen.Long[0, long.MaxValue]));

    [Fact]
    public void WebSocketFrameHeader_WrittenThenRead_SameFields()
    {
        Gen<(WebSocketOpcode, bool, long, uint?)> frames = Gen.OneOf(
                WebSocketOpcode.Continuation, WebSocketOpcode.Text, WebSocketOpcode.Binary, WebSocketOpcode.Close, WebSocketOpcode.Ping, WebSocketOpcode.Pong)
            .SelectMany(opcode => ((byte)opcode & 0x8) != 0
                ? Gen.Select(Gen.Long[0, WebSocketFrameHeader.MaxControlPayloadLength], Gen.UInt.Nullable(), (length, key) => (opcode, true, length, key))
                : Gen.Select(Gen.Bool, PayloadLength, Gen.UInt.Nullable(), (fin, length, key) => (opcode, fin, length, key)));
        frames.Sample((opcode, fin, length, key) =>
        {
            byte[] bytes = new byte[WebSocketFrameHeader.MaxLength + 3];
            int written = WebSocketFrameHeader.Write(bytes, opcode, fin, length, key);
            foreach (ReadOnlySequence<byte> shape in new[] { new ReadOnlySequence<byte>(bytes, 0, written), TestSequenceSegment.Split(bytes.AsSpan(0, written).ToArray(), written / 2) })
            {
                Assert.Equal(OperationStatus.Done, WebSocketFrameHeader.TryRead(shape, requireMask: key.HasValue, out WebSocketFrameHeader header, out ProtocolError error));
                Assert.Equal(ProtocolError.None, error);
                Assert.Equal((written, opcode, fin, length, key.HasValue, key ?? 0), (header.HeaderLength, header.Opcode, header.Fin, header.PayloadLength, header.Masked, header.MaskKey));
            }
        }, iter: Iterations);
    }

    [Fact]
    public void WebSocketMask_AppliedTwiceInAnyChunks_IsTheIdentity()
    {
        Gen.Select(Gen.Byte.Array[0, 300], Gen.UInt, Gen.Int[0, 300]).Sample((data, key, cut) =>
        {
            byte[] masked = (byte[])data.Clone();
            WebSocketMask.Apply(masked, key, 0);
            int at = Math.Min(cut, masked.Length);
            int offset = WebSocketMask.Apply(masked.AsSpan(0, at), key, 0);
            WebSocketMask.Apply(masked.AsSpan(at), key, offset);
            Assert.Equal(data, masked);
        }, iter: Iterations);
    }

    /// <summary>Record data without the record separator (a text packet never holds one).</summary>
    private static readonly Gen<byte[]> TextData = Gen.Byte.Where(b => b != EngineIOPollingPayload.RecordSeparator).Array[0, 40];

    [Fact]
    public void EngineIOPollingPayload_RecordsJoinedThenSplit_SamePackets()
    {
        Gen<(bool Binary, EngineIOPacketType Type, byte[] Data)> packet = Gen.Select(Gen.Bool, Gen.Int[0, (int)EngineIOPacketType.Noop], TextData, Gen.Byte.Array[0, 40],
            (binary, type, text, data) => binary ? (true, EngineIOPacketType.Message, data) : (false, (EngineIOPacketType)type, text));
        packet.Array[1, 8].Sample(packets =>
        {
            var payload = new ArrayBufferWriter<byte>();
            var record = new ArrayBufferWriter<byte>();
            for (int i = 0; i < packets.Length; i++)
            {
                record.Clear();
                if (packets[i].Binary)
                {
                    EngineIOPacket.WriteBase64Record(record, packets[i].Data);
                }
                else
                {
                    EngineIOPacket.WriteText(record, packets[i].Type, packets[i].Data);
                }

                EngineIOPollingPayload.AppendRecord(payload, record.WrittenSpan, first: i == 0);
            }

            int index = 0;
            var decoded = new ArrayBufferWriter<byte>();
            foreach (ReadOnlySpan<byte> read in EngineIOPollingPayload.Split(payload.WrittenSpan))
            {
                (bool binary, EngineIOPacketType type, byte[] data) = packets[index++];
                if (binary)
                {
                    Assert.Equal(EngineIOPacket.BinaryPrefix, read[0]);
                    decoded.Clear();
                    Assert.Equal(ProtocolError.None, EngineIOPacket.TryDecodeBase64(read.Slice(1), decoded));
                    Assert.Equal(data, decoded.WrittenSpan.ToArray());
                }
                else
                {
                    Assert.Equal(ProtocolError.None, EngineIOPacket.TryParseText(read, out EngineIOPacketType readType, out ReadOnlySpan<byte> readData));
                    Assert.Equal(type, readType);
                    Assert.Equal(data, readData.ToArray());
                }
            }

            Assert.Equal(packets.Length, index);
        }, iter: Iterations);
    }

    private static readonly string[] ReservedEvents = ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"];

    /// <summary>A JSON value of bounded depth; <paramref name="placeholders"/> &gt; 0 lets objects be binary placeholders below that count.</summary>
    private static Gen<string> JsonValue(int depth, int placeholders)
    {
        Gen<string> scalar = Gen.OneOf(
            Gen.String.Select(s => JsonSerializer.Serialize(s)),
            Gen.Long.Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Gen.Double.Where(double.IsFinite).Select(d => JsonSerializer.Serialize(d)),
            Gen.OneOf("true", "false", "null"));
        if (placeholders > 0)
        {
            scalar = Gen.Frequency((4, scalar), (1, Gen.Int[0, placeholders - 1].Select(n => $"{{\"_placeholder\":true,\"num\":{n}}}")));
        }

        if (depth == 0)
        {
            return scalar;
        }

        Gen<string> inner = JsonValue(depth - 1, placeholders);
        return Gen.Frequency(
            (4, scalar),
            (1, inner.Array[0, 4].Select(items => "[" + string.Join(",", items) + "]")),
            (1, Gen.Select(Gen.String[0, 6], inner).Array[0, 4].Select(members => "{" + string.Join(",", members.Select(m => JsonSerializer.Serialize(m.Item1) + ":" + m.Item2)) + "}")));
    }

    private sealed record SocketIOCase(SocketIOPacketType Type, string Namespace, long AckId, int Attachments, string Payload, string? EventName);

    private static Gen<SocketIOCase> SocketIOPackets()
    {
        Gen<string> nsp = Gen.Frequency((2, Gen.Const("/")), (1, Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789_-"].Array[1, 10].Select(c => "/" + new string(c))));
        Gen<long> ackId = Gen.Frequency((2, Gen.Long[0, 999]), (1, Gen.Long[0, 999_999_999_999_999]));
        Gen<string> eventName = Gen.String[0, 12].Where(n => !ReservedEvents.Contains(n));
        return Gen.Int[0, (int)SocketIOPacketType.BinaryAck].SelectMany(t =>
        {
            var type = (SocketIOPacketType)t;
            bool binary = type is SocketIOPacketType.BinaryEvent or SocketIOPacketType.BinaryAck;
            return Gen.Select(nsp, binary ? Gen.Int[0, SocketIOPacketParser.MaxAttachments] : Gen.Const(0), ackId, Gen.Bool).SelectMany((ns, attachments, id, withAck) =>
            {
                Gen<string> args = JsonValue(2, attachments).Array[0, 4].Select(a => string.Join(",", a));
                return type switch
                {
                    SocketIOPacketType.Connect => Gen.Frequency((1, Gen.Const("")), (2, JsonValue(2, 0).Where(v => v.StartsWith('{')))).Select(p => new SocketIOCase(type, ns, -1, 0, p, null)),
                    SocketIOPacketType.Disconnect => Gen.Const(new SocketIOCase(type, ns, -1, 0, "", null)),
                    SocketIOPacketType.ConnectError => Gen.Frequency((2, Gen.String.Select(m => $"{{\"message\":{JsonSerializer.Serialize(m)}}}")), (1, Gen.String.Select(m => JsonSerializer.Serialize(m))))
                        .Select(p => new SocketIOCase(type, ns, -1, 0, p, null)),
                    SocketIOPacketType.Event or SocketIOPacketType.BinaryEvent => Gen.Select(eventName, args).Select((name, rest) =>
                        new SocketIOCase(type, ns, withAck ? id : -1, attachments, "[" + JsonSerializer.Serialize(name) + (rest.Length > 0 ? "," + rest : "") + "]", name)),
                    _ => args.Select(rest => new SocketIOCase(type, ns, id, attachments, "[" + rest + "]", null)),
                };
            });
        });
    }

    [Fact]
    public void SocketIOPacket_WrittenThenParsed_SameFields()
    {
        SocketIOPackets().Sample(c =>
        {
            var writer = new ArrayBufferWriter<byte>();
            SocketIOPacketWriter.Write(writer, c.Type, Encoding.UTF8.GetBytes(c.Namespace), Encoding.UTF8.GetBytes(c.Payload), c.AckId, c.Attachments);

            Assert.Equal(ProtocolError.None, SocketIOPacketParser.TryParse(writer.WrittenSpan, out SocketIOPacket packet));
            Assert.Equal((c.Type, c.Namespace, c.AckId, c.Attachments, c.Payload), (packet.Type, Encoding.UTF8.GetString(packet.Namespace), packet.AckId, packet.Attachments, Encoding.UTF8.GetString(packet.Payload)));
            if (c.EventName is not null)
            {
                Assert.Equal(c.EventName, JsonSerializer.Deserialize<string>("\"" + Encoding.UTF8.GetString(packet.EventName) + "\""));
            }
        }, iter: Iterations, print: c => c.ToString());
    }

    private sealed record HttpCase(string Method, string Path, string? Query, string Host, long? ContentLength, string? Origin, string Text);

    private static readonly Gen<string> Token = Gen.Char["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~"].Array[1, 12].Select(c => new string(c));

    private static readonly Gen<string> FieldValue = Gen.Char[" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\t"].Array[0, 30]
        .Select(c => new string(c).Trim(' ', '\t'));

    private static readonly Gen<string> TargetText = Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789-._~%!$'()*+,;=:@/"].Array[0, 30].Select(c => new string(c));

    private static readonly Gen<HttpCase> HttpHeads =
        Gen.Select(Gen.OneOf("GET", "POST", "OPTIONS", "HEAD", "PUT", "PATCH"), TargetText, TargetText.Null(), FieldValue, Gen.Long[0, long.MaxValue].Nullable(), FieldValue.Null(),
                Gen.Select(Token, FieldValue).Where(h => !IsKnownHeader(h.Item1)).Array[0, 6])
            .Select((method, path, query, host, length, origin, others) =>
            {
                var text = new StringBuilder($"{method} /{path}{(query is null ? "" : "?" + query)} HTTP/1.1\r\nHost: {host}\r\n");
                foreach ((string name, string value) in others)
                {
                    text.Append(name).Append(": ").Append(value).Append("\r\n");
                }

                if (length is long l)
                {
                    text.Append("Content-Length: ").Append(l).Append("\r\n");
                }

                if (origin is not null)
                {
                    text.Append("origin:\t").Append(origin).Append(" \r\n");
                }

                return new HttpCase(method, "/" + path, query, host, length, origin, text.Append("\r\n").ToString());
            });

    private static bool IsKnownHeader(string name) =>
        new[] { "host", "origin", "upgrade", "connection", "content-type", "content-length", "sec-websocket-key", "transfer-encoding", "sec-websocket-version", "access-control-request-headers" }
            .Contains(name, StringComparer.OrdinalIgnoreCase);

    [Fact]
    public void HttpRequestHead_AsAClientWritesIt_ParsesToItsFields()
    {
        HttpHeads.Sample(c =>
        {
            byte[] bytes = Encoding.ASCII.GetBytes(c.Text);
            Assert.Equal(bytes.Length, HttpRequestParser.FindHeadEnd(TestSequenceSegment.Split(bytes, bytes.Length / 2)));
            Assert.Equal(OperationStatus.Done, HttpRequestParser.TryParse(bytes, int.MaxValue, out HttpRequestHead head, out ProtocolError error));
            Assert.Equal(ProtocolError.None, error);
            Assert.Equal(bytes.Length, head.Length);
            Assert.Equal(c.Method, Encoding.ASCII.GetString(head.MethodText));
            Assert.Equal(c.Method switch { "GET" => HttpMethod.Get, "POST" => HttpMethod.Post, "OPTIONS" => HttpMethod.Options, "HEAD" => HttpMethod.Head, "PUT" => HttpMethod.Put, _ => HttpMethod.Other }, head.Method);
            Assert.Equal(c.Path, Encoding.ASCII.GetString(head.Path));
            Assert.Equal(c.Query ?? "", Encoding.ASCII.GetString(head.Query));
            Assert.Equal(c.Host, Encoding.ASCII.GetString(head.Host));
            Assert.Equal(c.ContentLength ?? -1, head.ContentLength);
            Assert.Equal(c.Origin ?? "", Encoding.ASCII.GetString(head.Origin));
            Assert.True(head.IsHttp11);
        }, iter: Iterations, print: c => c.Text);
    }

    private static readonly Gen<ProxyHeader> ProxyHeaders = Gen.Int[0, 5].SelectMany(kind => kind switch
    {
        0 => Gen.Const(new ProxyHeader(0, 1, ProxyCommand.Proxy, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified)),
        1 => Gen.Const(new ProxyHeader(0, 2, ProxyCommand.Local, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified)),
        2 => Gen.Select(Gen.Int[1, 2], Gen.UInt, Gen.UInt, Gen.UShort, Gen.UShort).Select((version, source, destination, sourcePort, destinationPort) =>
            new ProxyHeader(0, (byte)version, ProxyCommand.Proxy, ProxyAddressFamily.IPv4, ProxyTransport.Stream, source, destination, sourcePort, destinationPort)),
        3 => Gen.Select(Gen.Int[1, 2], Gen.Select(Gen.ULong, Gen.ULong), Gen.Select(Gen.ULong, Gen.ULong), Gen.UShort, Gen.UShort).Select((version, source, destination, sourcePort, destinationPort) =>
            new ProxyHeader(0, (byte)version, ProxyCommand.Proxy, ProxyAddressFamily.IPv6, ProxyTransport.Stream,
                new UInt128(source.Item1, source.Item2), new UInt128(destination.Item1, destination.Item2), sourcePort, destinationPort)),
        4 => Gen.Select(Gen.OneOf(ProxyAddressFamily.IPv4, ProxyAddressFamily.IPv6), Gen.UInt, Gen.UInt, Gen.UShort, Gen.UShort).Select((family, source, destination, sourcePort, destinationPort) =>
            new ProxyHeader(0, 2, ProxyCommand.Proxy, family, ProxyTransport.Datagram, source, destination, sourcePort, destinationPort)),
        _ => Gen.OneOf(ProxyAddressFamily.Unspecified, ProxyAddressFamily.Unix).Select(family =>
            new ProxyHeader(0, 2, ProxyCommand.Proxy, family, family == ProxyAddressFamily.Unix ? ProxyTransport.Stream : ProxyTransport.Unspecified)),
    });

    /// <summary>v2 TLVs (type, value) to append, as AWS and HAProxy send them.</summary>
    private static readonly Gen<byte[]> Tlvs = Gen.Select(Gen.Byte, Gen.Byte.Array[0, 40]).Array[0, 3]
        .Select(tlvs => tlvs.SelectMany(t => (byte[])[t.Item1, (byte)(t.Item2.Length >> 8), (byte)t.Item2.Length, .. t.Item2]).ToArray());

    [Fact]
    public void ProxyHeader_WrittenThenParsed_SameHeader()
    {
        Gen.Select(ProxyHeaders, Tlvs).Sample((header, tlvs) =>
        {
            var writer = new ArrayBufferWriter<byte>();
            if (header.Version == 1)
            {
                ProxyProtocolWriter.WriteV1(writer, header);
            }
            else
            {
                ProxyProtocolWriter.WriteV2(writer, header, header.Family is ProxyAddressFamily.Unspecified || header.Command == ProxyCommand.Local ? [] : tlvs);
            }

            byte[] bytes = writer.WrittenSpan.ToArray();
            foreach (ReadOnlySequence<byte> shape in new[] { new ReadOnlySequence<byte>(bytes), TestSequenceSegment.Split(bytes, bytes.Length / 2) })
            {
                Assert.Equal(OperationStatus.Done, ProxyProtocolParser.TryParse(shape, out ProxyHeader read, out ProtocolError error));
                Assert.Equal(ProtocolError.None, error);
                Assert.Equal(new ProxyHeader(bytes.Length, header.Version, header.Command, header.Family, header.Transport, header.SourceAddress, header.DestinationAddress, header.SourcePort, header.DestinationPort), read);
            }
        }, iter: Iterations);
    }
}
