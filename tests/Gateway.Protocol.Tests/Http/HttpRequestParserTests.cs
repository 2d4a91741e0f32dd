using System.Buffers;
using System.Text;
using Gateway.Protocol.Http;
using HttpMethod = Gateway.Protocol.Http.HttpMethod;

namespace Gateway.Protocol.Tests.Http;

public class HttpRequestParserTests
{
    // Engine.IO v4 handshake request from the protocol's sample session.
    private const string Polling =
        "GET /socket.io/?EIO=4&transport=polling&t=N8hyd6w HTTP/1.1\r\n" +
        "Host: localhost:3000\r\n" +
        "Origin: http://localhost:8080\r\n" +
        "\r\n";

    // RFC 6455 §1.2 opening handshake.
    private const string Upgrade =
        "GET /chat HTTP/1.1\r\n" +
        "Host: server.example.com\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Origin: http://example.com\r\n" +
        "Sec-WebSocket-Protocol: chat, superchat\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "\r\n";

    private const string Post =
        "POST /socket.io/?EIO=4&transport=polling&sid=lv_VI97HAXpY6yYWAAAC HTTP/1.1\r\n" +
        "host:\t localhost \t\r\n" +
        "content-type: text/plain; charset=UTF-8\r\n" +
        "Content-Length: 11\r\n" +
        "\r\n";

    public static TheoryData<string> ValidHeads => new() { Polling, Upgrade, Post };

    [Fact]
    public void TryParse_PollingRequest_ReadsFields()
    {
        byte[] bytes = Encoding.ASCII.GetBytes(Polling);

        Assert.Equal(OperationStatus.Done, HttpRequestParser.TryParse(bytes, HttpRequestParser.DefaultMaxHeadLength, out HttpRequestHead head, out ProtocolError error));
        Assert.Equal(ProtocolError.None, error);
        Assert.Equal(bytes.Length, head.Length);
        Assert.Equal(HttpMethod.Get, head.Method);
        Assert.Equal("/socket.io/", Encoding.ASCII.GetString(head.Path));
        Assert.Equal("EIO=4&transport=polling&t=N8hyd6w", Encoding.ASCII.GetString(head.Query));
        Assert.Equal("localhost:3000", Encoding.ASCII.GetString(head.Host));
        Assert.Equal("http://localhost:8080", Encoding.ASCII.GetString(head.Origin));
        Assert.True(head.IsHttp11);
        Assert.True(head.KeepAlive);
        Assert.False(head.IsWebSocketUpgrade);
        Assert.Equal(-1, head.ContentLength);
        Assert.Equal(2, head.HeaderCount);
    }

    [Fact]
    public void TryParse_Rfc6455Upgrade_ReadsWebSocketFields()
    {
        byte[] bytes = Encoding.ASCII.GetBytes(Upgrade);

        Assert.Equal(OperationStatus.Done, HttpRequestParser.TryParse(bytes, HttpRequestParser.DefaultMaxHeadLength, out HttpRequestHead head, out _));
        Assert.True(head.IsWebSocketUpgrade);
        Assert.Equal("dGhlIHNhbXBsZSBub25jZQ==", Encoding.ASCII.GetString(head.SecWebSocketKey));
        Assert.Equal("13", Encoding.ASCII.GetString(head.SecWebSocketVersion));
        Assert.Equal("/chat", Encoding.ASCII.GetString(head.Path));
        Assert.True(head.Query.IsEmpty);
        Assert.Equal(7, head.HeaderCount);
    }

    [Fact]
    public void TryParse_PostWithBodyAfterHead_StopsAtHeadEnd()
    {
        byte[] bytes = Encoding.ASCII.GetBytes(Post + "42[\"hello\"]");

        Assert.Equal(OperationStatus.Done, HttpRequestParser.TryParse(bytes, HttpRequestParser.DefaultMaxHeadLength, out HttpRequestHead head, out _));
        Assert.Equal(Post.Length, head.Length);
        Assert.Equal(HttpMethod.Post, head.Method);
        Assert.Equal(11, head.ContentLength);
        Assert.Equal("localhost", Encoding.ASCII.GetString(head.Host));
        Assert.Equal("text/plain; charset=UTF-8", Encoding.ASCII.GetString(head.ContentType));
    }

    [Theory]
    [MemberData(nameof(ValidHeads))]
    public void TryParse_ValidHeadInsideLargerArray_ReadsSameLength(string text)
    {
        ArraySegment<byte> inside = Shapes.InsideLargerArray(Encoding.ASCII.GetBytes(text));

        Assert.Equal(OperationStatus.Done, HttpRequestParser.TryParse(inside, HttpRequestParser.DefaultMaxHeadLength, out HttpRequestHead head, out _));
        Assert.Equal(text.Length, head.Length);
    }

    [Theory]
    [MemberData(nameof(ValidHeads))]
    public void TryParse_EveryStrictPrefix_NeedsMoreDataAndConsumesNothing(string text)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        for (int prefix = 0; prefix < bytes.Length; prefix++)
        {
            Assert.True(HttpRequestParser.TryParse(bytes.AsSpan(0, prefix), HttpRequestParser.DefaultMaxHeadLength, out HttpRequestHead head, out ProtocolError error) == OperationStatus.NeedMoreData, $"prefix {prefix}");
            Assert.Equal(ProtocolError.None, error);
            Assert.Equal(0, head.Length);
        }
    }

    [Theory]
    [MemberData(nameof(ValidHeads))]
    public void FindHeadEnd_EverySequenceShape_FindsHeadLength(string text)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(text + "body");
        foreach ((string shape, ReadOnlySequence<byte> sequence) in Shapes.Sequences(bytes))
        {
            Assert.True(HttpRequestParser.FindHeadEnd(sequence) == text.Length, shape);
        }
    }

    [Theory]
    [MemberData(nameof(ValidHeads))]
    public void FindHeadEnd_EveryStrictPrefixInEveryShape_ReturnsMinusOne(string text)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        for (int prefix = 0; prefix < bytes.Length; prefix += 7)
        {
            foreach ((string shape, ReadOnlySequence<byte> sequence) in Shapes.Sequences(bytes[..prefix]))
            {
                Assert.True(HttpRequestParser.FindHeadEnd(sequence) == -1, $"prefix {prefix}, {shape}");
            }
        }

        for (int prefix = bytes.Length - 4; prefix < bytes.Length; prefix++)
        {
            foreach ((string shape, ReadOnlySequence<byte> sequence) in Shapes.Sequences(bytes[..prefix]))
            {
                Assert.True(HttpRequestParser.FindHeadEnd(sequence) == -1, $"prefix {prefix}, {shape}");
            }
        }
    }

    public static TheoryData<string, string, ProtocolError> InvalidHeads => new()
    {
        { "no target", "GET\r\nHost: x\r\n\r\n", ProtocolError.InvalidRequestLine },
        { "no version", "GET /\r\nHost: x\r\n\r\n", ProtocolError.InvalidRequestLine },
        { "double space", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", ProtocolError.InvalidRequestLine },
        { "trailing space", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", ProtocolError.InvalidRequestLine },
        { "leading space", " GET / HTTP/1.1\r\nHost: x\r\n\r\n", ProtocolError.InvalidRequestLine },
        { "method not token", "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", ProtocolError.InvalidRequestLine },
        { "absolute form", "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", ProtocolError.InvalidRequestLine },
        { "target control byte", "GET /\u007f HTTP/1.1\r\nHost: x\r\n\r\n", ProtocolError.InvalidRequestLine },
        { "version lowercase", "GET / http/1.1\r\nHost: x\r\n\r\n", ProtocolError.InvalidRequestLine },
        { "version 2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", ProtocolError.InvalidRequestLine },
        { "bare LF request line", "GET / HTTP/1.1\nHost: x\r\n\r\n", ProtocolError.InvalidRequestLine },
        { "broken line before end", "GET / HTTP/9.9\r\nHost: x\r\n", ProtocolError.InvalidRequestLine },
        { "header without colon", "GET / HTTP/1.1\r\nHost: x\r\nX-Bad\r\n\r\n", ProtocolError.InvalidHeader },
        { "space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", ProtocolError.InvalidHeader },
        { "tab before colon", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", ProtocolError.InvalidHeader },
        { "empty name", "GET / HTTP/1.1\r\nHost: x\r\n: x\r\n\r\n", ProtocolError.InvalidHeader },
        { "obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n", ProtocolError.InvalidHeader },
        { "control byte in value", "GET / HTTP/1.1\r\nHost: x\u0001y\r\n\r\n", ProtocolError.InvalidHeader },
        { "bare LF in value", "GET / HTTP/1.1\r\nHost: x\nX-A: y\r\n\r\n", ProtocolError.InvalidHeader },
        { "HTTP/1.1 without Host", "GET / HTTP/1.1\r\nOrigin: x\r\n\r\n", ProtocolError.InvalidHeader },
        { "conflicting Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", ProtocolError.InvalidContentLength },
        { "Content-Length list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", ProtocolError.InvalidContentLength },
        { "Content-Length letters", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", ProtocolError.InvalidContentLength },
        { "Content-Length negative", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", ProtocolError.InvalidContentLength },
        { "Content-Length plus", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", ProtocolError.InvalidContentLength },
        { "Content-Length empty", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", ProtocolError.InvalidContentLength },
        { "Content-Length overflow", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", ProtocolError.InvalidContentLength },
    };

    [Theory]
    [MemberData(nameof(InvalidHeads))]
    public void TryParse_InvalidHead_ReturnsReason(string name, string text, ProtocolError expected)
    {
        _ = name;
        Assert.Equal(OperationStatus.InvalidData, HttpRequestParser.TryParse(Shapes.Latin1(text), HttpRequestParser.DefaultMaxHeadLength, out _, out ProtocolError error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void TryParse_DuplicateEqualContentLength_Accepts()
    {
        byte[] bytes = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n"u8.ToArray();

        Assert.Equal(OperationStatus.Done, HttpRequestParser.TryParse(bytes, HttpRequestParser.DefaultMaxHeadLength, out HttpRequestHead head, out _));
        Assert.Equal(5, head.ContentLength);
    }

    [Fact]
    public void TryParse_HeadLargerThanLimit_ReturnsRequestHeadTooLarge()
    {
        string head = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + new string('a', 200) + "\r\n\r\n";
        byte[] bytes = Encoding.ASCII.GetBytes(head);

        // Complete but too long.
        Assert.Equal(OperationStatus.InvalidData, HttpRequestParser.TryParse(bytes, 100, out _, out ProtocolError error));
        Assert.Equal(ProtocolError.RequestHeadTooLarge, error);
        // Not complete yet and already past the limit.
        Assert.Equal(OperationStatus.InvalidData, HttpRequestParser.TryParse(bytes.AsSpan(0, 150), 100, out _, out error));
        Assert.Equal(ProtocolError.RequestHeadTooLarge, error);
        // Exactly at the limit.
        Assert.Equal(OperationStatus.Done, HttpRequestParser.TryParse(bytes, bytes.Length, out HttpRequestHead parsed, out error));
        Assert.Equal(bytes.Length, parsed.Length);
    }

    [Theory]
    [InlineData(HttpRequestParser.MaxHeaderCount, OperationStatus.Done)]
    [InlineData(HttpRequestParser.MaxHeaderCount + 1, OperationStatus.InvalidData)]
    public void TryParse_HeaderCount_LimitedToMax(int count, OperationStatus expected)
    {
        var builder = new StringBuilder("GET / HTTP/1.1\r\nHost: x\r\n");
        for (int i = 1; i < count; i++)
        {
            builder.Append("X-H").Append(i).Append(": v\r\n");
        }

        builder.Append("\r\n");

        Assert.Equal(expected, HttpRequestParser.TryParse(Encoding.ASCII.GetBytes(builder.ToString()), 65536, out _, out ProtocolError error));
        Assert.Equal(expected == OperationStatus.Done ? ProtocolError.None : ProtocolError.TooManyHeaders, error);
    }

    [Theory]
    [InlineData("HTTP/1.1", "", true)]
    [InlineData("HTTP/1.1", "Connection: close\r\n", false)]
    [InlineData("HTTP/1.1", "Connection: Upgrade, Close\r\n", false)]
    [InlineData("HTTP/1.0", "", false)]
    [InlineData("HTTP/1.0", "Connection: keep-alive\r\n", true)]
    [InlineData("HTTP/1.0", "Connection: Keep-Alive\r\n", true)]
    [InlineData("HTTP/1.0", "Connection: close\r\n", false)]
    public void KeepAlive_VersionAndConnection_FollowsRfc9112(string version, string connection, bool expected)
    {
        byte[] bytes = Encoding.ASCII.GetBytes($"GET / {version}\r\nHost: x\r\n{connection}\r\n");

        Assert.Equal(OperationStatus.Done, HttpRequestParser.TryParse(bytes, HttpRequestParser.DefaultMaxHeadLength, out HttpRequestHead head, out _));
        Assert.Equal(expected, head.KeepAlive);
    }

    [Fact]
    public void TryParse_Http10WithoutHost_Accepts()
    {
        Assert.Equal(OperationStatus.Done, HttpRequestParser.TryParse("GET / HTTP/1.0\r\n\r\n"u8, HttpRequestParser.DefaultMaxHeadLength, out HttpRequestHead head, out _));
        Assert.False(head.IsHttp11);
    }

    [Theory]
    [InlineData("EIO=4&transport=polling&sid=abc", "EIO", true, "4")]
    [InlineData("EIO=4&transport=polling&sid=abc", "transport", true, "polling")]
    [InlineData("EIO=4&transport=polling&sid=abc", "sid", true, "abc")]
    [InlineData("EIO=4&transport=polling&sid=abc", "SID", false, "")]
    [InlineData("EIO=4&transport=polling&sid=abc", "trans", false, "")]
    [InlineData("transports=x&transport=websocket", "transport", true, "websocket")]
    [InlineData("sid=first&sid=second", "sid", true, "first")]
    [InlineData("flag&x=1", "flag", true, "")]
    [InlineData("a=&b=2", "a", true, "")]
    [InlineData("&&b=%20x", "b", true, "%20x")]
    [InlineData("", "sid", false, "")]
    public void TryGetQueryValue_Query_FindsFirstRawValue(string query, string name, bool found, string value)
    {
        Assert.Equal(found, HttpRequestParser.TryGetQueryValue(Encoding.ASCII.GetBytes(query), Encoding.ASCII.GetBytes(name), out ReadOnlySpan<byte> actual));
        Assert.Equal(value, Encoding.ASCII.GetString(actual));
    }

    [Theory]
    [InlineData("Upgrade", "upgrade", true)]
    [InlineData("keep-alive, Upgrade", "upgrade", true)]
    [InlineData(" keep-alive ,\tUPGRADE ", "upgrade", true)]
    [InlineData("Upgraded", "upgrade", false)]
    [InlineData("", "upgrade", false)]
    [InlineData(",,", "upgrade", false)]
    public void ContainsToken_Value_MatchesCommaSeparatedToken(string value, string token, bool expected)
    {
        Assert.Equal(expected, HttpRequestParser.ContainsToken(Encoding.ASCII.GetBytes(value), Encoding.ASCII.GetBytes(token)));
    }
}
