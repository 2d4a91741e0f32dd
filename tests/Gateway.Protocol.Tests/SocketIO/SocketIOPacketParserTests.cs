using System.Buffers;
using System.Text;
using Gateway.Protocol.SocketIO;

namespace Gateway.Protocol.Tests.SocketIO;

public class SocketIOPacketParserTests
{
    // Socket.IO v5 protocol examples: text, type, attachments, namespace, ack id, payload, event name, arguments.
    public static TheoryData<string, SocketIOPacketType, int, string, long, string, string, string> ValidPackets => new()
    {
        { "0", SocketIOPacketType.Connect, 0, "/", -1, "", "", "" },
        { "0{\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}", SocketIOPacketType.Connect, 0, "/", -1, "{\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}", "", "" },
        { "0/admin,", SocketIOPacketType.Connect, 0, "/admin", -1, "", "", "" },
        { "0/admin", SocketIOPacketType.Connect, 0, "/admin", -1, "", "", "" },
        { "0{\"token\":\"123\"}", SocketIOPacketType.Connect, 0, "/", -1, "{\"token\":\"123\"}", "", "" },
        { "0/admin,{\"token\":\"123\"}", SocketIOPacketType.Connect, 0, "/admin", -1, "{\"token\":\"123\"}", "", "" },
        { "1", SocketIOPacketType.Disconnect, 0, "/", -1, "", "", "" },
        { "1/admin,", SocketIOPacketType.Disconnect, 0, "/admin", -1, "", "", "" },
        { "2[\"foo\"]", SocketIOPacketType.Event, 0, "/", -1, "[\"foo\"]", "foo", "" },
        { "2[\"hello\",1]", SocketIOPacketType.Event, 0, "/", -1, "[\"hello\",1]", "hello", "1" },
        { "2[\"hey\",\"Jude\"]", SocketIOPacketType.Event, 0, "/", -1, "[\"hey\",\"Jude\"]", "hey", "\"Jude\"" },
        { "2/admin,[\"hello\"]", SocketIOPacketType.Event, 0, "/admin", -1, "[\"hello\"]", "hello", "" },
        { "212[\"hello\"]", SocketIOPacketType.Event, 0, "/", 12, "[\"hello\"]", "hello", "" },
        { "2/admin,13[\"foo\"]", SocketIOPacketType.Event, 0, "/admin", 13, "[\"foo\"]", "foo", "" },
        { "2/admin,1[\"tellme\"]", SocketIOPacketType.Event, 0, "/admin", 1, "[\"tellme\"]", "tellme", "" },
        { "2[1,\"x\"]", SocketIOPacketType.Event, 0, "/", -1, "[1,\"x\"]", "", "" },
        { "2[\"a,b\",{\"k\":[1,2]}]", SocketIOPacketType.Event, 0, "/", -1, "[\"a,b\",{\"k\":[1,2]}]", "a,b", "{\"k\":[1,2]}" },
        { "312[]", SocketIOPacketType.Ack, 0, "/", 12, "[]", "", "" },
        { "3/admin,13[\"bar\"]", SocketIOPacketType.Ack, 0, "/admin", 13, "[\"bar\"]", "bar", "" },
        { "4{\"message\":\"Not authorized\"}", SocketIOPacketType.ConnectError, 0, "/", -1, "{\"message\":\"Not authorized\"}", "", "" },
        { "4/admin,\"Not authorized\"", SocketIOPacketType.ConnectError, 0, "/admin", -1, "\"Not authorized\"", "", "" },
        { "451-[\"hello\",{\"_placeholder\":true,\"num\":0}]"[1..], SocketIOPacketType.BinaryEvent, 1, "/", -1, "[\"hello\",{\"_placeholder\":true,\"num\":0}]", "hello", "{\"_placeholder\":true,\"num\":0}" },
        { "52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]", SocketIOPacketType.BinaryEvent, 2, "/admin", -1, "[\"baz\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]", "baz", "{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}" },
        { "51-14[\"foo\",{\"_placeholder\":true,\"num\":0}]", SocketIOPacketType.BinaryEvent, 1, "/", 14, "[\"foo\",{\"_placeholder\":true,\"num\":0}]", "foo", "{\"_placeholder\":true,\"num\":0}" },
        { "61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]", SocketIOPacketType.BinaryAck, 1, "/", 15, "[\"bar\",{\"_placeholder\":true,\"num\":0}]", "bar", "{\"_placeholder\":true,\"num\":0}" },
        { "61-/admin,1[{\"_placeholder\":true,\"num\":0}]", SocketIOPacketType.BinaryAck, 1, "/admin", 1, "[{\"_placeholder\":true,\"num\":0}]", "", "" },
        // A placeholder whose key is repeated: the last value wins, as in JSON.parse.
        { "51-[\"x\",{\"_placeholder\":true,\"num\":7,\"num\":0}]", SocketIOPacketType.BinaryEvent, 1, "/", -1, "[\"x\",{\"_placeholder\":true,\"num\":7,\"num\":0}]", "x", "{\"_placeholder\":true,\"num\":7,\"num\":0}" },
        // socket.io-parser's maxAttachments (10) itself is allowed.
        { "510-[\"x\"]", SocketIOPacketType.BinaryEvent, 10, "/", -1, "[\"x\"]", "x", "" },
        // Not a placeholder: "_placeholder" is not true.
        { "50-[\"x\",{\"_placeholder\":false,\"num\":9}]", SocketIOPacketType.BinaryEvent, 0, "/", -1, "[\"x\",{\"_placeholder\":false,\"num\":9}]", "x", "{\"_placeholder\":false,\"num\":9}" },
    };

    [Theory]
    [MemberData(nameof(ValidPackets))]
    public void TryParse_SpecExample_ReadsEveryField(string text, SocketIOPacketType type, int attachments, string nsp, long ackId, string payload, string eventName, string arguments)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        AssertPacket(bytes, type, attachments, nsp, ackId, payload, eventName, arguments);
    }

    [Theory]
    [MemberData(nameof(ValidPackets))]
    public void TryParse_SpecExampleInsideLargerArray_ReadsOnlyTheSlice(string text, SocketIOPacketType type, int attachments, string nsp, long ackId, string payload, string eventName, string arguments)
    {
        ArraySegment<byte> inside = Shapes.InsideLargerArray(Encoding.UTF8.GetBytes(text));
        AssertPacket(inside, type, attachments, nsp, ackId, payload, eventName, arguments);
    }

    [Theory]
    [MemberData(nameof(ValidPackets))]
    public void Write_SpecExample_ReproducesEncoding(string text, SocketIOPacketType type, int attachments, string nsp, long ackId, string payload, string eventName, string arguments)
    {
        _ = (eventName, arguments);
        if (text == "0/admin")
        {
            return; // accepted on input, but socket.io-parser always writes the comma
        }

        var writer = new ArrayBufferWriter<byte>();
        SocketIOPacketWriter.Write(writer, type, Encoding.UTF8.GetBytes(nsp), Encoding.UTF8.GetBytes(payload), ackId, attachments);

        Assert.Equal(text, Encoding.UTF8.GetString(writer.WrittenSpan));
    }

    private static void AssertPacket(ReadOnlySpan<byte> bytes, SocketIOPacketType type, int attachments, string nsp, long ackId, string payload, string eventName, string arguments)
    {
        Assert.Equal(ProtocolError.None, SocketIOPacketParser.TryParse(bytes, out SocketIOPacket packet));
        Assert.Equal(type, packet.Type);
        Assert.Equal(attachments, packet.Attachments);
        Assert.Equal(nsp, Encoding.UTF8.GetString(packet.Namespace));
        Assert.Equal(ackId, packet.AckId);
        Assert.Equal(ackId >= 0, packet.HasAckId);
        Assert.Equal(payload, Encoding.UTF8.GetString(packet.Payload));
        Assert.Equal(eventName, Encoding.UTF8.GetString(packet.EventName));
        Assert.Equal(arguments, Encoding.UTF8.GetString(packet.EventArguments));
    }

    public static TheoryData<string, string, ProtocolError> InvalidPackets => new()
    {
        { "empty", "", ProtocolError.InvalidSocketIOPacketType },
        { "type 7", "7[\"x\"]", ProtocolError.InvalidSocketIOPacketType },
        { "type 9", "9", ProtocolError.InvalidSocketIOPacketType },
        { "type letter", "a[\"x\"]", ProtocolError.InvalidSocketIOPacketType },
        { "type slash", "/admin,", ProtocolError.InvalidSocketIOPacketType },
        { "attachments without dash", "51[\"hello\",{\"_placeholder\":true,\"num\":0}]", ProtocolError.InvalidAttachments },
        { "attachments empty", "5-[\"hello\"]", ProtocolError.InvalidAttachments },
        { "attachments missing", "5[\"hello\"]", ProtocolError.InvalidAttachments },
        { "attachments end of packet", "51", ProtocolError.InvalidAttachments },
        { "attachments not digits", "5a-[\"hello\"]", ProtocolError.InvalidAttachments },
        { "attachments too many", "565-[\"hello\"]", ProtocolError.InvalidAttachments },
        { "attachments one over maxAttachments (10)", "511-[\"hello\"]", ProtocolError.InvalidAttachments },
        { "attachments over maxAttachments, leading zeros", "5011-[\"hello\"]", ProtocolError.InvalidAttachments },
        { "binary ack without dash", "61[{\"_placeholder\":true,\"num\":0}]", ProtocolError.InvalidAttachments },
        { "placeholder index = count", "51-[\"hello\",{\"_placeholder\":true,\"num\":1}]", ProtocolError.InvalidAttachments },
        { "placeholder index negative", "51-[\"hello\",{\"_placeholder\":true,\"num\":-1}]", ProtocolError.InvalidAttachments },
        { "placeholder index string", "51-[\"hello\",{\"_placeholder\":true,\"num\":\"0\"}]", ProtocolError.InvalidAttachments },
        { "placeholder without index", "51-[\"hello\",{\"_placeholder\":true}]", ProtocolError.InvalidAttachments },
        { "placeholder with no attachments", "50-[\"hello\",{\"_placeholder\":true,\"num\":0}]", ProtocolError.InvalidAttachments },
        { "placeholder nested deep", "51-[\"hello\",{\"a\":[{\"_placeholder\":true,\"num\":3}]}]", ProtocolError.InvalidAttachments },
        { "placeholder after nested object", "51-[\"hello\",{\"a\":{\"b\":1},\"_placeholder\":true,\"num\":5}]", ProtocolError.InvalidAttachments },
        { "placeholder inside placeholder key", "51-[\"hello\",{\"_placeholder\":{\"_placeholder\":true,\"num\":5}}]", ProtocolError.InvalidAttachments },
        { "placeholder num overridden by non-number", "51-[\"hello\",{\"_placeholder\":true,\"num\":0,\"num\":\"x\"}]", ProtocolError.InvalidAttachments },
        { "placeholder key escaped", "51-[\"hello\",{\"\\u005fplaceholder\":true,\"num\":2}]", ProtocolError.InvalidAttachments },
        { "placeholder in ack", "61-1[{\"_placeholder\":true,\"num\":1}]", ProtocolError.InvalidAttachments },
        { "reserved connect", "2[\"connect\"]", ProtocolError.InvalidPayload },
        { "reserved connect_error", "2[\"connect_error\",{}]", ProtocolError.InvalidPayload },
        { "reserved disconnect", "2[\"disconnect\"]", ProtocolError.InvalidPayload },
        { "reserved disconnecting", "2[\"disconnecting\"]", ProtocolError.InvalidPayload },
        { "reserved newListener", "2[\"newListener\"]", ProtocolError.InvalidPayload },
        { "reserved removeListener", "2/admin,[\"removeListener\"]", ProtocolError.InvalidPayload },
        { "reserved binary", "51-[\"disconnect\",{\"_placeholder\":true,\"num\":0}]", ProtocolError.InvalidPayload },
        { "reserved escaped", "2[\"\\u0063onnect\"]", ProtocolError.InvalidPayload },
        { "disconnect with object", "1{}", ProtocolError.InvalidPayload },
        { "disconnect with array", "1/admin,[\"x\"]", ProtocolError.InvalidPayload },
        { "connect with array", "0[\"token\"]", ProtocolError.InvalidPayload },
        { "connect with string", "0\"token\"", ProtocolError.InvalidPayload },
        { "event empty", "2", ProtocolError.InvalidPayload },
        { "event object", "2{\"a\":1}", ProtocolError.InvalidPayload },
        { "event empty array", "2[]", ProtocolError.InvalidPayload },
        { "event first object", "2[{}]", ProtocolError.InvalidPayload },
        { "event string", "2\"hello\"", ProtocolError.InvalidPayload },
        { "ack object", "312{}", ProtocolError.InvalidPayload },
        { "connect error array", "4[\"x\"]", ProtocolError.InvalidPayload },
        { "connect error number", "41", ProtocolError.InvalidPayload },
        { "json unterminated", "2[\"hello\"", ProtocolError.InvalidPayload },
        { "json bare word", "2[hello]", ProtocolError.InvalidPayload },
        { "json trailing comma", "2[\"hello\",]", ProtocolError.InvalidPayload },
        { "json single quotes", "2['hello']", ProtocolError.InvalidPayload },
        { "json comment", "2[\"hello\"/*x*/]", ProtocolError.InvalidPayload },
        { "json too deep", "2[\"a\"," + new string('[', 40) + new string(']', 40) + "]", ProtocolError.InvalidPayload },
        { "trailing garbage", "2[\"hello\"]x", ProtocolError.InvalidPayload },
        { "trailing bracket", "2[\"hello\"]]", ProtocolError.InvalidPayload },
        { "second value", "2[\"hello\"][\"x\"]", ProtocolError.InvalidPayload },
        { "connect trailing garbage", "0{\"token\":\"123\"}}", ProtocolError.InvalidPayload },
        { "ack id too long", "21234567890123456[\"hello\"]", ProtocolError.InvalidAckId },
        { "ack without id", "3[\"bar\"]", ProtocolError.InvalidAckId },
        { "binary ack without id", "61-[{\"_placeholder\":true,\"num\":0}]", ProtocolError.InvalidAckId },
        // JSON allows an escaped lone surrogate; UTF-16 text (a .NET string) does not.
        { "lone high surrogate in argument", "2[\"subscribe\",\"\\ud800\"]", ProtocolError.InvalidUtf8 },
        { "lone low surrogate in argument", "2[\"subscribe\",\"\\udc00x\"]", ProtocolError.InvalidUtf8 },
        { "high surrogate then a letter", "2[\"subscribe\",\"\\ud83dx\"]", ProtocolError.InvalidUtf8 },
        { "two high surrogates", "2[\"subscribe\",\"\\ud83d\\ud83d\"]", ProtocolError.InvalidUtf8 },
        { "lone surrogate in event name", "2[\"\\ud800\"]", ProtocolError.InvalidUtf8 },
        { "lone surrogate in connect auth", "0{\"channels\":[\"\\udbff\"]}", ProtocolError.InvalidUtf8 },
        { "lone surrogate in property name", "0{\"\\ud800\":1}", ProtocolError.InvalidUtf8 },
        { "lone surrogate in answer", "21[\"answer\",{\"promptId\":\"\\ud800\"}]", ProtocolError.InvalidUtf8 },
    };

    // Text a polling body can carry (a WebSocket text frame cannot: its UTF-8 is checked before): invalid UTF-8
    // inside a JSON string, as bytes, field by field.
    public static TheoryData<string, byte[]> InvalidUtf8Packets => new()
    {
        // 2["subscribe","<0x8D>"]: a lone continuation byte.
        { "continuation byte in argument", [.. "2[\"subscribe\",\""u8, 0x8D, .. "\"]"u8] },
        // 0{"channels":["<0xC3>"]}: a lead byte without its continuation.
        { "truncated sequence in connect auth", [.. "0{\"channels\":[\""u8, 0xC3, .. "\"]}"u8] },
        // 0{"pid":"<0xED 0xA0 0x80>"}: a surrogate encoded as UTF-8 (CESU).
        { "encoded surrogate in pid", [.. "0{\"pid\":\""u8, 0xED, 0xA0, 0x80, .. "\"}"u8] },
        // 21["answer",{"promptId":"<0xFF>"}]: a byte UTF-8 never uses.
        { "invalid byte in answer", [.. "21[\"answer\",{\"promptId\":\""u8, 0xFF, .. "\"}]"u8] },
        // 2["<0xC0 0xAF>"]: an overlong encoding of '/'.
        { "overlong encoding in event name", [.. "2[\""u8, 0xC0, 0xAF, .. "\"]"u8] },
    };

    [Theory]
    [MemberData(nameof(InvalidUtf8Packets))]
    public void TryParse_InvalidUtf8InJson_ReturnsInvalidUtf8(string name, byte[] text)
    {
        _ = name;
        Assert.Equal(ProtocolError.InvalidUtf8, SocketIOPacketParser.TryParse(text, out SocketIOPacket packet));
        Assert.True(packet.Payload.IsEmpty);
    }

    [Theory]
    [InlineData("2[\"subscribe\",\"\\ud83d\\ude00\"]")] // a surrogate pair (an emoji), escaped
    [InlineData("2[\"subscribe\",\"\\\\ud800\"]")] // an escaped backslash, then the letters "ud800"
    [InlineData("2[\"subscribe\",\"caf\u00e9 \U0001F600\"]")] // UTF-8 multi-byte text
    [InlineData("0{\"a\\u00e9\":\"\\n\\u0041\"}")]
    public void TryParse_WellFormedText_Accepts(string text) =>
        Assert.Equal(ProtocolError.None, SocketIOPacketParser.TryParse(Encoding.UTF8.GetBytes(text), out _));

    [Theory]
    [MemberData(nameof(InvalidPackets))]
    public void TryParse_InvalidPacket_ReturnsReason(string name, string text, ProtocolError expected)
    {
        _ = name;
        Assert.Equal(expected, SocketIOPacketParser.TryParse(Encoding.UTF8.GetBytes(text), out SocketIOPacket packet));
        Assert.True(packet.Payload.IsEmpty);
    }

    [Fact]
    public void TryParse_EscapedEventName_FlagsEscapes()
    {
        Assert.Equal(ProtocolError.None, SocketIOPacketParser.TryParse("2[\"a\\\"b\",1]"u8, out SocketIOPacket packet));
        Assert.True(packet.EventNameEscaped);
        Assert.Equal("a\\\"b", Encoding.UTF8.GetString(packet.EventName));
        Assert.Equal("1", Encoding.UTF8.GetString(packet.EventArguments));
    }

    [Theory]
    [InlineData("connected")]
    [InlineData("Connect")]
    [InlineData("disconnect ")]
    public void TryParse_NameCloseToReserved_Accepts(string name)
    {
        Assert.Equal(ProtocolError.None, SocketIOPacketParser.TryParse(Encoding.UTF8.GetBytes($"2[\"{name}\"]"), out SocketIOPacket packet));
        Assert.Equal(name, Encoding.UTF8.GetString(packet.EventName));
    }

    [Fact]
    public void TryParse_LargestAckId_Accepts()
    {
        Assert.Equal(ProtocolError.None, SocketIOPacketParser.TryParse("2123456789012345[\"x\"]"u8, out SocketIOPacket packet));
        Assert.Equal(123456789012345L, packet.AckId);
    }

    [Fact]
    public void WriteEvent_WithAckAndNamespace_ProducesSpecEncoding()
    {
        var writer = new ArrayBufferWriter<byte>();

        SocketIOPacketWriter.WriteEvent(writer, "/admin"u8, "foo"u8, default, 13);

        Assert.Equal("2/admin,13[\"foo\"]", Encoding.UTF8.GetString(writer.WrittenSpan));
    }

    [Fact]
    public void WriteEvent_WithAttachments_WritesBinaryEvent()
    {
        var writer = new ArrayBufferWriter<byte>();

        SocketIOPacketWriter.WriteEvent(writer, "/"u8, "baz"u8, "{\"_placeholder\":true,\"num\":0}"u8, attachments: 1);

        Assert.Equal("51-[\"baz\",{\"_placeholder\":true,\"num\":0}]", Encoding.UTF8.GetString(writer.WrittenSpan));
    }

    [Fact]
    public void WriteAck_EmptyArguments_ProducesSpecEncoding()
    {
        var writer = new ArrayBufferWriter<byte>();

        SocketIOPacketWriter.WriteAck(writer, "/"u8, 12, default);

        Assert.Equal("312[]", Encoding.UTF8.GetString(writer.WrittenSpan));
    }

    [Fact]
    public void WriteAck_WithAttachments_WritesBinaryAck()
    {
        var writer = new ArrayBufferWriter<byte>();

        SocketIOPacketWriter.WriteAck(writer, "/admin"u8, 1, "{\"_placeholder\":true,\"num\":0}"u8, attachments: 1);

        Assert.Equal("61-/admin,1[{\"_placeholder\":true,\"num\":0}]", Encoding.UTF8.GetString(writer.WrittenSpan));
    }

    [Fact]
    public void WriteHeader_EmptyNamespace_OmitsNamespace()
    {
        var writer = new ArrayBufferWriter<byte>();

        SocketIOPacketWriter.WriteHeader(writer, SocketIOPacketType.Disconnect, default);

        Assert.Equal("1", Encoding.UTF8.GetString(writer.WrittenSpan));
    }
}
