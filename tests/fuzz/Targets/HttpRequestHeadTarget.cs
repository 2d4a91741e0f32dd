using System.Buffers;
using Gateway.Protocol;
using Gateway.Protocol.Http;
using static Gateway.Fuzz.FuzzInvariantException;

namespace Gateway.Fuzz.Targets;

/// <summary>An HTTP/1.1 request head as the connection handler reads it: find its end, parse it, read its query.</summary>
public static class HttpRequestHeadTarget
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        byte[] bytes = input.ToArray();
        long end = HttpRequestParser.FindHeadEnd(new ReadOnlySequence<byte>(bytes));
        Check(end == HttpRequestParser.FindHeadEnd(TwoSegments.Cut(bytes, bytes.Length / 2)), "sequence and span head ends disagree");
        Check(end == -1 || (end >= 4 && end <= input.Length && input.Slice((int)end - 4, 4).SequenceEqual("\r\n\r\n"u8)), "head end");

        OperationStatus status = HttpRequestParser.TryParse(input, HttpRequestParser.DefaultMaxHeadLength, out HttpRequestHead head, out ProtocolError error);
        if (status != OperationStatus.Done)
        {
            Check(status == OperationStatus.NeedMoreData ? error == ProtocolError.None && end < 0 : error != ProtocolError.None, "status and error disagree");
            return;
        }

        Check(head.Length == end && head.Length <= HttpRequestParser.DefaultMaxHeadLength, "head length");
        Check(head.HeaderCount <= HttpRequestParser.MaxHeaderCount && head.ContentLength >= -1, "header count, content length");
        Check(!head.Path.IsEmpty && (head.Path[0] == (byte)'/' || head.Path.SequenceEqual("*"u8)), "origin-form path");
        ReadOnlySpan<byte> parsed = input.Slice(0, head.Length);
        CheckWithin(parsed, head.MethodText, "method");
        CheckWithin(parsed, head.Path, "path");
        CheckWithin(parsed, head.Query, "query");
        CheckWithin(parsed, head.Host, "Host");
        CheckWithin(parsed, head.Connection, "Connection");
        CheckWithin(parsed, head.Upgrade, "Upgrade");
        CheckWithin(parsed, head.Origin, "Origin");
        CheckWithin(parsed, head.SecWebSocketKey, "Sec-WebSocket-Key");
        CheckWithin(parsed, head.SecWebSocketVersion, "Sec-WebSocket-Version");
        CheckWithin(parsed, head.TransferEncoding, "Transfer-Encoding");
        CheckWithin(parsed, head.AccessControlRequestHeaders, "Access-Control-Request-Headers");
        CheckWithin(parsed, head.ContentType, "Content-Type");
        foreach (ReadOnlySpan<byte> name in new[] { "EIO"u8.ToArray(), "transport"u8.ToArray(), "sid"u8.ToArray() })
        {
            if (HttpRequestParser.TryGetQueryValue(head.Query, name, out ReadOnlySpan<byte> value))
            {
                CheckWithin(head.Query, value, "query value");
            }
        }

        _ = head.KeepAlive;
        _ = head.IsWebSocketUpgrade;
    }
}
