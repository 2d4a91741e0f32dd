using System.Buffers;
using BenchmarkDotNet.Attributes;
using Gateway.Protocol;
using Gateway.Protocol.Http;

namespace Gateway.Benchmarks.Protocol;

/// <summary>HTTP/1.1 request heads as browsers send them: the WebSocket upgrade and a long-polling GET.</summary>
[MemoryDiagnoser]
public class HttpRequestParserBenchmarks
{
    private static readonly byte[] s_upgrade =
        ("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
         "Host: push.example.com\r\n" +
         "Connection: Upgrade\r\n" +
         "Pragma: no-cache\r\n" +
         "Cache-Control: no-cache\r\n" +
         "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
         "Upgrade: websocket\r\n" +
         "Origin: https://www.example.com\r\n" +
         "Sec-WebSocket-Version: 13\r\n" +
         "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
         "Accept-Language: en-US,en;q=0.9\r\n" +
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
         "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
         "\r\n").Select(c => (byte)c).ToArray();

    private static readonly byte[] s_pollingGet =
        ("GET /socket.io/?EIO=4&transport=polling&t=PQx3kZa&sid=Zq8VnXk2mB0aQ1rS7tUv HTTP/1.1\r\n" +
         "Host: push.example.com\r\n" +
         "Connection: keep-alive\r\n" +
         "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
         "Accept: */*\r\n" +
         "Origin: https://www.example.com\r\n" +
         "Referer: https://www.example.com/\r\n" +
         "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
         "Accept-Language: en-US,en;q=0.9\r\n" +
         "\r\n").Select(c => (byte)c).ToArray();

    /// <summary>The floor: finding the end of the head, which any parser must do.</summary>
    [Benchmark(Baseline = true)]
    public int FindHeadEnd() => s_upgrade.AsSpan().IndexOf("\r\n\r\n"u8);

    [Benchmark]
    public int ParseWebSocketUpgrade()
    {
        OperationStatus status = HttpRequestParser.TryParse(s_upgrade, HttpRequestParser.DefaultMaxHeadLength, out HttpRequestHead head, out ProtocolError _);
        return (int)status + head.Length + (head.IsWebSocketUpgrade ? 1 : 0);
    }

    [Benchmark]
    public int ParsePollingGet()
    {
        OperationStatus status = HttpRequestParser.TryParse(s_pollingGet, HttpRequestParser.DefaultMaxHeadLength, out HttpRequestHead head, out ProtocolError _);
        return (int)status + head.Length + (head.KeepAlive ? 1 : 0);
    }
}
