using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Unicode;

namespace Gateway.Protocol.SocketIO;

/// <summary>
/// Parses the text part of a Socket.IO v5 packet with the rules of socket.io-parser 4.2 (the one socket.io 4.8 uses):
/// the type must be known, attachments end with <c>-</c>, the namespace runs to <c>,</c> or the end, the ack id is
/// digits, and the JSON payload must be valid and of the shape the type requires. Its text must be too: valid UTF-8
/// (a polling body is not checked by anyone before; a WebSocket text frame is) and no escaped lone surrogate, so that
/// every string of a parsed packet reads as a .NET string (<c>Utf8JsonReader.GetString</c> throws on either).
/// The writer is <see cref="SocketIOPacketWriter"/>.
/// </summary>
public static class SocketIOPacketParser
{
    /// <summary>
    /// Largest attachment count accepted in one packet: socket.io-parser 4.2's <c>maxAttachments</c> default. A packet
    /// announcing more is a parse error (socket.io then closes the client's connection).
    /// </summary>
    public const int MaxAttachments = 10;

    /// <summary>Ack ids are JavaScript numbers; 15 digits keeps them exact.</summary>
    public const int MaxAckIdDigits = 15;

    /// <summary>JSON nesting limit for payloads.</summary>
    public const int MaxDepth = 32;

    private static ReadOnlySpan<byte> RootNamespace => "/"u8;

    public static ProtocolError TryParse(ReadOnlySpan<byte> text, out SocketIOPacket packet)
    {
        packet = default;
        if (text.IsEmpty)
        {
            return ProtocolError.InvalidSocketIOPacketType;
        }

        uint typeDigit = (uint)(text[0] - '0');
        if (typeDigit > (uint)SocketIOPacketType.BinaryAck)
        {
            return ProtocolError.InvalidSocketIOPacketType;
        }

        var type = (SocketIOPacketType)typeDigit;
        int i = 1;

        int attachments = 0;
        if (type is SocketIOPacketType.BinaryEvent or SocketIOPacketType.BinaryAck)
        {
            int start = i;
            while (i < text.Length && IsDigit(text[i]))
            {
                attachments = attachments * 10 + (text[i] - '0');
                if (attachments > MaxAttachments)
                {
                    return ProtocolError.InvalidAttachments;
                }

                i++;
            }

            if (i == start || i >= text.Length || text[i] != (byte)'-')
            {
                return ProtocolError.InvalidAttachments;
            }

            i++;
        }

        ReadOnlySpan<byte> nsp = RootNamespace;
        if (i < text.Length && text[i] == (byte)'/')
        {
            int start = i;
            int comma = text.Slice(i).IndexOf((byte)',');
            if (comma < 0)
            {
                nsp = text.Slice(start);
                i = text.Length;
            }
            else
            {
                nsp = text.Slice(start, comma);
                i = start + comma + 1;
            }
        }

        long ackId = -1;
        if (i < text.Length && IsDigit(text[i]))
        {
            int start = i;
            ackId = 0;
            while (i < text.Length && IsDigit(text[i]))
            {
                if (i - start >= MaxAckIdDigits)
                {
                    return ProtocolError.InvalidAckId;
                }

                ackId = ackId * 10 + (text[i] - '0');
                i++;
            }
        }

        ReadOnlySpan<byte> payload = text.Slice(i);
        var shape = default(PayloadShape);
        if (!payload.IsEmpty)
        {
            ProtocolError error = InspectPayload(payload, attachments, ref shape);
            if (error != ProtocolError.None)
            {
                return error;
            }
        }

        if (!IsShapeValid(type, payload.IsEmpty, shape))
        {
            return ProtocolError.InvalidPayload;
        }

        if (ackId >= 0 && type is not (SocketIOPacketType.Event or SocketIOPacketType.BinaryEvent or SocketIOPacketType.Ack or SocketIOPacketType.BinaryAck))
        {
            return ProtocolError.InvalidAckId;
        }

        if (type is SocketIOPacketType.Ack or SocketIOPacketType.BinaryAck && ackId < 0)
        {
            return ProtocolError.InvalidAckId;
        }

        packet = new SocketIOPacket
        {
            Type = type,
            Attachments = attachments,
            Namespace = nsp,
            AckId = ackId,
            Payload = payload,
            EventName = shape.EventNameLength > 0 || shape.FirstIsString ? payload.Slice(shape.EventNameStart, shape.EventNameLength) : default,
            EventNameEscaped = shape.EventNameEscaped,
            EventArguments = shape.ArgumentsLength > 0 ? payload.Slice(shape.ArgumentsStart, shape.ArgumentsLength) : default,
        };
        return ProtocolError.None;
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    // socket.io-parser's isPayloadValid, per type.
    private static bool IsShapeValid(SocketIOPacketType type, bool empty, in PayloadShape shape) => type switch
    {
        SocketIOPacketType.Connect => empty || shape.Root == JsonTokenType.StartObject,
        SocketIOPacketType.Disconnect => empty,
        SocketIOPacketType.ConnectError => !empty && shape.Root is JsonTokenType.StartObject or JsonTokenType.String,
        SocketIOPacketType.Event or SocketIOPacketType.BinaryEvent =>
            !empty && shape.Root == JsonTokenType.StartArray && (shape.FirstIsNumber || (shape.FirstIsString && !shape.FirstIsReserved)),
        SocketIOPacketType.Ack or SocketIOPacketType.BinaryAck => !empty && shape.Root == JsonTokenType.StartArray,
        _ => false,
    };

    private ref struct PayloadShape
    {
        public JsonTokenType Root;
        public bool FirstIsString;
        public bool FirstIsNumber;
        public bool FirstIsReserved;
        public bool EventNameEscaped;
        public int EventNameStart;
        public int EventNameLength;
        public int ArgumentsStart;
        public int ArgumentsLength;
    }

    // Names socket.io reserves on the client side; an EVENT may not use them (socket.io-parser RESERVED_EVENTS).
    // Compares the unescaped string (JSON.parse decodes "\u0063onnect" to "connect" before socket.io checks it).
    private static bool IsReservedEvent(in Utf8JsonReader reader) =>
        ValueEquals(reader, "connect"u8) || ValueEquals(reader, "connect_error"u8) || ValueEquals(reader, "disconnect"u8) ||
        ValueEquals(reader, "disconnecting"u8) || ValueEquals(reader, "newListener"u8) || ValueEquals(reader, "removeListener"u8);

    /// <summary>
    /// <see cref="Utf8JsonReader.ValueTextEquals(ReadOnlySpan{byte})"/> for an ASCII <paramref name="name"/>, on a value
    /// already checked by <see cref="HasUnpairedSurrogate"/> (the reader throws on an escaped lone surrogate; found by
    /// fuzzing, FuzzRegressionTests). A value without escapes, nearly every one, is compared as it stands: the reader's
    /// own comparison costs a call per name, and this runs for every property name of every packet.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool ValueEquals(in Utf8JsonReader reader, ReadOnlySpan<byte> name) =>
        reader.ValueIsEscaped ? reader.ValueTextEquals(name) : reader.ValueSpan.SequenceEqual(name);

    // One pass of Utf8JsonReader: validity, the root token, the first array element, and every binary placeholder
    // ({"_placeholder":true,"num":N} with 0 <= N < attachments).
    private static ProtocolError InspectPayload(ReadOnlySpan<byte> payload, int attachments, ref PayloadShape shape)
    {
        if (!Utf8.IsValid(payload))
        {
            return ProtocolError.InvalidUtf8;
        }

        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = MaxDepth, CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (!reader.Read())
            {
                return ProtocolError.InvalidPayload;
            }

            shape.Root = reader.TokenType;
            if (reader.TokenType == JsonTokenType.StartArray)
            {
                if (!reader.Read())
                {
                    return ProtocolError.InvalidPayload;
                }

                if (reader.TokenType == JsonTokenType.String)
                {
                    if (HasUnpairedSurrogate(reader))
                    {
                        return ProtocolError.InvalidUtf8;
                    }

                    shape.FirstIsString = true;
                    shape.EventNameEscaped = reader.ValueIsEscaped;
                    shape.EventNameStart = (int)reader.TokenStartIndex + 1;
                    shape.EventNameLength = reader.ValueSpan.Length;
                    shape.FirstIsReserved = IsReservedEvent(reader);
                    int after = (int)reader.BytesConsumed;
                    while (after < payload.Length && IsJsonWhitespace(payload[after]))
                    {
                        after++;
                    }

                    if (after < payload.Length && payload[after] == (byte)',')
                    {
                        shape.ArgumentsStart = after + 1;
                        int end = payload.LastIndexOf((byte)']');
                        shape.ArgumentsLength = Math.Max(0, end - shape.ArgumentsStart);
                    }
                }
                else if (reader.TokenType == JsonTokenType.Number)
                {
                    shape.FirstIsNumber = true;
                }

                ProtocolError error = ScanRest(ref reader, attachments);
                if (error != ProtocolError.None)
                {
                    return error;
                }
            }
            else if (reader.TokenType == JsonTokenType.StartObject)
            {
                ProtocolError error = ScanRest(ref reader, attachments);
                if (error != ProtocolError.None)
                {
                    return error;
                }
            }
            else if (reader.TokenType == JsonTokenType.String && HasUnpairedSurrogate(reader))
            {
                return ProtocolError.InvalidUtf8;
            }

            // Nothing may follow the root value.
            if (reader.Read())
            {
                return ProtocolError.InvalidPayload;
            }
        }
        catch (JsonException)
        {
            return ProtocolError.InvalidPayload;
        }

        return ProtocolError.None;
    }

    private static bool IsJsonWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r';

    // Reads to the end of the payload from the current token, checking every object that claims to be a placeholder
    // (socket.io-parser's reconstructPacket: any object, at any depth, whose "_placeholder" is true); false on a bad
    // placeholder index (InvalidAttachments), and every string and property name for an escaped lone surrogate
    // (InvalidUtf8). State is kept per open object, so nested objects do not hide their parent's keys.
    private static ProtocolError ScanRest(ref Utf8JsonReader reader, int attachments)
    {
        // Indexed by the object's depth; the reader refuses anything deeper than MaxDepth.
        Span<bool> placeholder = stackalloc bool[MaxDepth + 1];
        Span<long> num = stackalloc long[MaxDepth + 1];
        const int None = 0, PlaceholderValue = 1, NumValue = 2;
        int pending = None;
        int owner = -1;
        do
        {
            int depth = reader.CurrentDepth;
            if (pending != None)
            {
                // The value of "_placeholder" or "num" (the last occurrence of a key wins, as in JSON.parse).
                if (pending == PlaceholderValue)
                {
                    placeholder[owner] = reader.TokenType == JsonTokenType.True;
                }
                else
                {
                    num[owner] = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long n) ? n : -1;
                }

                pending = None;
            }

            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    placeholder[depth] = false;
                    num[depth] = -1;
                    break;
                case JsonTokenType.String:
                    if (HasUnpairedSurrogate(reader))
                    {
                        return ProtocolError.InvalidUtf8;
                    }

                    break;
                case JsonTokenType.PropertyName:
                    if (HasUnpairedSurrogate(reader))
                    {
                        return ProtocolError.InvalidUtf8;
                    }

                    owner = depth - 1;
                    pending = ValueEquals(reader, "_placeholder"u8) ? PlaceholderValue : ValueEquals(reader, "num"u8) ? NumValue : None;
                    break;
                case JsonTokenType.EndObject:
                    if (placeholder[depth] && (num[depth] < 0 || num[depth] >= attachments))
                    {
                        return ProtocolError.InvalidAttachments;
                    }

                    break;
            }

            if (depth == 0 && reader.TokenType is JsonTokenType.EndArray or JsonTokenType.EndObject)
            {
                return ProtocolError.None;
            }
        }
        while (reader.Read());

        return ProtocolError.None;
    }

    /// <summary>
    /// Whether the string or property name at the reader holds a <c>\uD800</c>–<c>\uDBFF</c> escape not followed by a
    /// <c>\uDC00</c>–<c>\uDFFF</c> one, or the latter alone: JSON's grammar allows it, UTF-16 text does not. Only
    /// escaped values are scanned (unescaped ones were checked as UTF-8).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool HasUnpairedSurrogate(in Utf8JsonReader reader) =>
        reader.ValueIsEscaped && EscapesHoldUnpairedSurrogate(reader.ValueSpan);

    // Payloads are one contiguous span, so the value is too. The reader has checked the escapes' syntax: a backslash is
    // followed by one character, and "u" by four hex digits.
    private static bool EscapesHoldUnpairedSurrogate(ReadOnlySpan<byte> raw)
    {
        bool expectLow = false;
        int i = 0;
        while (i < raw.Length)
        {
            if (raw[i] != (byte)'\\' || i + 1 >= raw.Length || raw[i + 1] != (byte)'u')
            {
                if (expectLow)
                {
                    return true;
                }

                i += raw[i] == (byte)'\\' ? 2 : 1;
                continue;
            }

            if (i + 6 > raw.Length || !Utf8Parser.TryParse(raw.Slice(i + 2, 4), out ushort unit, out int consumed, 'x') || consumed != 4)
            {
                return true;
            }

            bool low = unit is >= 0xDC00 and <= 0xDFFF;
            if (low != expectLow)
            {
                return true;
            }

            expectLow = unit is >= 0xD800 and <= 0xDBFF;
            i += 6;
        }

        return expectLow;
    }
}
