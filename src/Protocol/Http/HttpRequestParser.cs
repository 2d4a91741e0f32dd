using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Gateway.Protocol.Http;

/// <summary>
/// Parses an HTTP/1.1 request head (RFC 9112 §2–5): request line, header fields, the empty line. Only what the
/// gateway needs is kept; every field is still checked for syntax. A head that is not complete yet returns
/// <see cref="OperationStatus.NeedMoreData"/> until it exceeds the size limit.
/// </summary>
public static class HttpRequestParser
{
    public const int DefaultMaxHeadLength = 8192;
    public const int MaxHeaderCount = 100;

    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;

    /// <summary>Finds the end of the head in a possibly multi-segment buffer: its length including CRLFCRLF, or -1.</summary>
    public static long FindHeadEnd(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            int index = buffer.FirstSpan.IndexOf(HeadEnd);
            return index < 0 ? -1 : index + 4;
        }

        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, HeadEnd, advancePastDelimiter: true) ? reader.Consumed : -1;
    }

    /// <summary>Parses a complete head (the bytes up to and including CRLFCRLF).</summary>
    public static OperationStatus TryParse(ReadOnlySpan<byte> buffer, int maxHeadLength, out HttpRequestHead head, out ProtocolError error)
    {
        head = default;
        head.ContentLength = -1;
        error = ProtocolError.None;

        int end = buffer.IndexOf(HeadEnd);
        if (end < 0)
        {
            if (buffer.Length > maxHeadLength)
            {
                error = ProtocolError.RequestHeadTooLarge;
                return OperationStatus.InvalidData;
            }

            // A request line that is already broken need not wait for more bytes.
            int lineEnd = buffer.IndexOf((byte)'\n');
            if (lineEnd >= 0 && !TryParseRequestLine(buffer.Slice(0, lineEnd + 1), ref head))
            {
                error = ProtocolError.InvalidRequestLine;
                return OperationStatus.InvalidData;
            }

            head = default;
            head.ContentLength = -1;
            return OperationStatus.NeedMoreData;
        }

        head.Length = end + 4;
        if (head.Length > maxHeadLength)
        {
            error = ProtocolError.RequestHeadTooLarge;
            return OperationStatus.InvalidData;
        }

        ReadOnlySpan<byte> rest = buffer.Slice(0, head.Length);
        int firstLine = rest.IndexOf("\r\n"u8);
        if (!TryParseRequestLine(rest.Slice(0, firstLine + 2), ref head))
        {
            error = ProtocolError.InvalidRequestLine;
            return OperationStatus.InvalidData;
        }

        rest = rest.Slice(firstLine + 2);
        while (true)
        {
            int lineLength = rest.IndexOf("\r\n"u8);
            if (lineLength == 0)
            {
                break; // the empty line
            }

            if (++head.HeaderCount > MaxHeaderCount)
            {
                error = ProtocolError.TooManyHeaders;
                return OperationStatus.InvalidData;
            }

            error = ParseHeader(rest.Slice(0, lineLength), ref head);
            if (error != ProtocolError.None)
            {
                return OperationStatus.InvalidData;
            }

            rest = rest.Slice(lineLength + 2);
        }

        if (head.IsHttp11 && head.Host.IsEmpty && !HasHostHeader(buffer.Slice(0, head.Length)))
        {
            // RFC 9112 §3.2: a client MUST send Host in HTTP/1.1.
            error = ProtocolError.InvalidHeader;
            return OperationStatus.InvalidData;
        }

        return OperationStatus.Done;
    }

    private static bool HasHostHeader(ReadOnlySpan<byte> head)
    {
        // Host may legitimately be empty ("Host:"); look for the field name itself.
        int index = 0;
        while (true)
        {
            int next = head.Slice(index).IndexOf("\r\n"u8);
            if (next < 0)
            {
                return false;
            }

            index += next + 2;
            ReadOnlySpan<byte> line = head.Slice(index);
            if (line.Length >= 5 && Ascii.EqualsIgnoreCase(line.Slice(0, 5), "host:"u8))
            {
                return true;
            }
        }
    }

    private static bool TryParseRequestLine(ReadOnlySpan<byte> line, ref HttpRequestHead head)
    {
        // method SP request-target SP HTTP-version CRLF
        if (line.Length < 2 || line[^2] != (byte)'\r' || line[^1] != (byte)'\n')
        {
            return false;
        }

        line = line.Slice(0, line.Length - 2);
        int sp1 = line.IndexOf((byte)' ');
        if (sp1 <= 0)
        {
            return false;
        }

        ReadOnlySpan<byte> method = line.Slice(0, sp1);
        foreach (byte b in method)
        {
            if (!IsTokenChar(b))
            {
                return false;
            }
        }

        ReadOnlySpan<byte> afterMethod = line.Slice(sp1 + 1);
        int sp2 = afterMethod.IndexOf((byte)' ');
        if (sp2 <= 0)
        {
            return false;
        }

        ReadOnlySpan<byte> target = afterMethod.Slice(0, sp2);
        ReadOnlySpan<byte> version = afterMethod.Slice(sp2 + 1);
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            head.IsHttp11 = true;
        }
        else if (!version.SequenceEqual("HTTP/1.0"u8))
        {
            return false;
        }

        foreach (byte b in target)
        {
            // Visible ASCII only (RFC 3986 characters plus the ones browsers send unencoded).
            if (b <= 0x20 || b >= 0x7F)
            {
                return false;
            }
        }

        if (target[0] != (byte)'/' && !(target.Length == 1 && target[0] == (byte)'*'))
        {
            // Absolute-form ("http://host/path") is for proxies; the gateway accepts origin-form only.
            return false;
        }

        head.MethodText = method;
        head.Method = method switch
        {
            _ when method.SequenceEqual("GET"u8) => HttpMethod.Get,
            _ when method.SequenceEqual("POST"u8) => HttpMethod.Post,
            _ when method.SequenceEqual("OPTIONS"u8) => HttpMethod.Options,
            _ when method.SequenceEqual("HEAD"u8) => HttpMethod.Head,
            _ when method.SequenceEqual("PUT"u8) => HttpMethod.Put,
            _ => HttpMethod.Other,
        };
        int question = target.IndexOf((byte)'?');
        if (question < 0)
        {
            head.Path = target;
            head.Query = default;
        }
        else
        {
            head.Path = target.Slice(0, question);
            head.Query = target.Slice(question + 1);
        }

        return true;
    }

    private static ProtocolError ParseHeader(ReadOnlySpan<byte> line, ref HttpRequestHead head)
    {
        int colon = line.IndexOf((byte)':');
        if (colon <= 0)
        {
            return ProtocolError.InvalidHeader;
        }

        ReadOnlySpan<byte> name = line.Slice(0, colon);
        foreach (byte b in name)
        {
            // Also rejects whitespace before the colon (RFC 9112 §5.1) and obsolete line folding.
            if (!IsTokenChar(b))
            {
                return ProtocolError.InvalidHeader;
            }
        }

        ReadOnlySpan<byte> value = TrimWhitespace(line.Slice(colon + 1));
        foreach (byte b in value)
        {
            if ((b < 0x20 && b != (byte)'\t') || b == 0x7F)
            {
                return ProtocolError.InvalidHeader;
            }
        }

        switch (name.Length)
        {
            case 4 when Ascii.EqualsIgnoreCase(name, "Host"u8):
                head.Host = value;
                break;
            case 6 when Ascii.EqualsIgnoreCase(name, "Origin"u8):
                head.Origin = value;
                break;
            case 7 when Ascii.EqualsIgnoreCase(name, "Upgrade"u8):
                head.Upgrade = value;
                break;
            case 10 when Ascii.EqualsIgnoreCase(name, "Connection"u8):
                head.Connection = value;
                break;
            case 12 when Ascii.EqualsIgnoreCase(name, "Content-Type"u8):
                head.ContentType = value;
                break;
            case 14 when Ascii.EqualsIgnoreCase(name, "Content-Length"u8):
                // RFC 9110 §8.6: 1*DIGIT. Utf8Parser alone also takes a sign ("+5", "-0"), which other parsers refuse.
                if (value.IsEmpty || value.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0 ||
                    !Utf8Parser.TryParse(value, out long length, out int consumed) || consumed != value.Length || length < 0 ||
                    (head.ContentLength >= 0 && head.ContentLength != length))
                {
                    return ProtocolError.InvalidContentLength;
                }

                head.ContentLength = length;
                break;
            case 17 when Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Key"u8):
                head.SecWebSocketKey = value;
                break;
            case 17 when Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8):
                head.TransferEncoding = value;
                break;
            case 21 when Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Version"u8):
                head.SecWebSocketVersion = value;
                break;
            case 30 when Ascii.EqualsIgnoreCase(name, "Access-Control-Request-Headers"u8):
                head.AccessControlRequestHeaders = value;
                break;
        }

        return ProtocolError.None;
    }

    /// <summary>True when a comma-separated header value contains <paramref name="token"/> (case-insensitive).</summary>
    public static bool ContainsToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        while (!value.IsEmpty)
        {
            int comma = value.IndexOf((byte)',');
            ReadOnlySpan<byte> item = TrimWhitespace(comma < 0 ? value : value.Slice(0, comma));
            if (Ascii.EqualsIgnoreCase(item, token))
            {
                return true;
            }

            if (comma < 0)
            {
                break;
            }

            value = value.Slice(comma + 1);
        }

        return false;
    }

    /// <summary>Finds a query parameter's raw (still percent-encoded) value. The first occurrence wins.</summary>
    public static bool TryGetQueryValue(ReadOnlySpan<byte> query, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        while (!query.IsEmpty)
        {
            int amp = query.IndexOf((byte)'&');
            ReadOnlySpan<byte> pair = amp < 0 ? query : query.Slice(0, amp);
            int eq = pair.IndexOf((byte)'=');
            ReadOnlySpan<byte> key = eq < 0 ? pair : pair.Slice(0, eq);
            if (key.SequenceEqual(name))
            {
                value = eq < 0 ? default : pair.Slice(eq + 1);
                return true;
            }

            if (amp < 0)
            {
                break;
            }

            query = query.Slice(amp + 1);
        }

        value = default;
        return false;
    }

    private static ReadOnlySpan<byte> TrimWhitespace(ReadOnlySpan<byte> value)
    {
        int start = 0;
        while (start < value.Length && (value[start] == (byte)' ' || value[start] == (byte)'\t'))
        {
            start++;
        }

        int end = value.Length;
        while (end > start && (value[end - 1] == (byte)' ' || value[end - 1] == (byte)'\t'))
        {
            end--;
        }

        return value.Slice(start, end - start);
    }

    // RFC 9110 §5.6.2 tchar.
    private static bool IsTokenChar(byte b) =>
        (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
        b is (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+' or
            (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';
}
