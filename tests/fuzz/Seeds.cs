using System.Buffers;
using System.Text;
using Gateway.Protocol.WebSockets;

namespace Gateway.Fuzz;

/// <summary>
/// The seed corpus: the specifications' own examples per target (RFC 6455 §5.7, the Engine.IO and Socket.IO protocol
/// documents, RFC 6455 §1.2's handshake, haproxy's proxy-protocol.txt) and a few refused forms, so that the fuzzer
/// starts from every branch's door. <c>Gateway.Fuzz seed DIR</c> writes them out as files.
/// </summary>
public static class Seeds
{
    public static IReadOnlyList<(string Name, byte[] Bytes)> For(string target) => target switch
    {
        "websocket" => WebSocket,
        "http" => Http,
        "engineio" => EngineIO,
        "socketio" => SocketIO,
        "proxy" => Proxy,
        _ => throw new ArgumentOutOfRangeException(nameof(target), target, "no such target"),
    };

    private static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    /// <summary>A client frame (masked with RFC 6455 §5.7's key 37 fa 21 3d).</summary>
    private static byte[] Frame(WebSocketOpcode opcode, bool fin, byte[] payload)
    {
        const uint Key = 0x3d21fa37; // wire bytes 37 fa 21 3d, read little-endian
        var writer = new ArrayBufferWriter<byte>();
        WebSocketFrameHeader.Write(writer, opcode, fin, payload.Length, Key);
        byte[] masked = (byte[])payload.Clone();
        WebSocketMask.Apply(masked, Key, 0);
        writer.Write(masked);
        return writer.WrittenSpan.ToArray();
    }

    private static readonly (string, byte[])[] WebSocket =
    [
        // RFC 6455 §5.7, byte for byte.
        ("masked-hello", Hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")),
        ("unmasked-hello-refused", Hex("81 05 48 65 6c 6c 6f")),
        ("fragmented-hel-lo", [.. Frame(WebSocketOpcode.Text, false, Text("Hel")), .. Frame(WebSocketOpcode.Continuation, true, Text("lo"))]),
        ("ping-hello", Frame(WebSocketOpcode.Ping, true, Text("Hello"))),
        ("pong-hello", Frame(WebSocketOpcode.Pong, true, Text("Hello"))),
        ("binary-256", Frame(WebSocketOpcode.Binary, true, new byte[256])),
        ("binary-64k-header", Hex("82 FF 00 00 00 00 00 01 00 00 37 fa 21 3d")),
        // Engine.IO over WebSocket: the probe, then a ping in the middle of a fragmented message.
        ("probe-then-upgrade", [.. Frame(WebSocketOpcode.Text, true, Text("2probe")), .. Frame(WebSocketOpcode.Text, true, Text("5"))]),
        ("control-between-fragments", [.. Frame(WebSocketOpcode.Text, false, Text("42[\"a\",")), .. Frame(WebSocketOpcode.Ping, true, []), .. Frame(WebSocketOpcode.Continuation, true, Text("1]"))]),
        ("utf8-split-across-frames", [.. Frame(WebSocketOpcode.Text, false, [0xE2, 0x82]), .. Frame(WebSocketOpcode.Continuation, true, [0xAC])]),
        ("close-1000-reason", Frame(WebSocketOpcode.Close, true, [0x03, 0xE8, .. Text("bye")])),
        ("close-empty", Frame(WebSocketOpcode.Close, true, [])),
        ("close-1005-refused", Frame(WebSocketOpcode.Close, true, [0x03, 0xED])),
        ("reserved-bit-refused", Hex("C1 80 00 00 00 00")),
    ];

    private static readonly (string, byte[])[] Http =
    [
        ("polling-handshake", Text("GET /socket.io/?EIO=4&transport=polling&t=N8hyd6w HTTP/1.1\r\nHost: localhost:3000\r\nOrigin: http://localhost:8080\r\n\r\n")),
        // RFC 6455 §1.2.
        ("websocket-upgrade", Text("GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n")),
        ("polling-post", Text("POST /socket.io/?EIO=4&transport=polling&sid=lv_VI97HAXpY6yYWAAAC HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: 11\r\n\r\n4hello\x1e4bye")),
        ("preflight", Text("OPTIONS /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nAccess-Control-Request-Headers: content-type\r\n\r\n")),
        ("http10-no-host", Text("GET /socket.io/?EIO=4&transport=polling HTTP/1.0\r\n\r\n")),
        ("chunked-refused-later", Text("POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")),
        ("bad-request-line", Text("GET http://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n")),
    ];

    private static readonly (string, byte[])[] EngineIO =
    [
        // The Engine.IO v4 protocol document's examples.
        ("payload-text-and-binary", Text("4hello\x1e4€\x1ebAQIDBA==")),
        ("probe", Text("2probe")),
        ("probe-answer", Text("3probe")),
        ("upgrade", Text("5")),
        ("noop", Text("6")),
        ("close", Text("1")),
        ("message-socketio-connect", Text("40")),
        ("binary-record", Text("bAQID")),
        ("empty-record-refused", Text("4a\x1e\x1e4b")),
        ("bad-base64-refused", Text("b====")),
    ];

    private static readonly (string, byte[])[] SocketIO =
    [
        // The Socket.IO v5 protocol document's examples.
        ("connect", Text("0")),
        ("connect-admin-auth", Text("0/admin,{\"token\":\"123\"}")),
        ("disconnect-admin", Text("1/admin,")),
        ("event", Text("2[\"hello\",1]")),
        ("event-admin-ack", Text("2/admin,456[\"project:delete\",123]")),
        ("ack-admin", Text("3/admin,456[]")),
        ("connect-error", Text("4{\"message\":\"Not authorized\"}")),
        ("binary-event", Text("51-[\"hello\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID")),
        ("binary-ack-admin", Text("61-/admin,456[{\"_placeholder\":true,\"num\":0}]\x1ebAQID")),
        ("two-attachments-nested", Text("52-[\"file\",{\"a\":{\"_placeholder\":true,\"num\":1}},[{\"_placeholder\":true,\"num\":0}]]\x1ebAQ==\x1ebAg==")),
        ("escaped-event-name", Text("2[\"\\u0068i\",{\"x\":[1,2,3]}]")),
        ("reserved-event-refused", Text("2[\"connect\"]")),
        ("escaped-reserved-event-refused", Text("2[\"\\u0063onnect\"]")),
        ("invalid-utf8-event-name", [.. Text("2[\""), 0x8D, .. Text("\",1]")]),
        ("lone-surrogate-escape", Text("2[\"\\ud800\",\"\\udc00x\"]")),
        ("placeholder-out-of-range-refused", Text("51-[\"a\",{\"_placeholder\":true,\"num\":1}]")),
    ];

    private static readonly (string, byte[])[] Proxy =
    [
        // haproxy doc/proxy-protocol.txt §2.1 and §2.2.
        ("v1-tcp4", Text("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n")),
        ("v1-tcp6", Text("PROXY TCP6 2001:db8::1 ::ffff:192.0.2.7 40000 443\r\n")),
        ("v1-unknown", Text("PROXY UNKNOWN\r\n")),
        ("v1-unknown-worst-case", Text("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n")),
        ("v2-tcp4-haproxy", Hex("0D0A0D0A000D0A515549540A 21 11 000C AC130001 AC130003 A652 0050")),
        ("v2-tcp6", Hex("0D0A0D0A000D0A515549540A 21 21 0024 20010DB8000000000000000000000001 00000000000000000000000000000001 9C40 01BB")),
        ("v2-local", Hex("0D0A0D0A000D0A515549540A 20 00 0000")),
        ("v2-tcp4-aws-tlv", Hex("0D0A0D0A000D0A515549540A 21 11 0025 C0A80001 C0A8000B DC04 01BB EA 0016 01 767063652D30386432626631356661633530303163")),
        ("v2-unix", Hex("0D0A0D0A000D0A515549540A 21 31 00D8" + new string('0', 432))),
        ("v2-bad-tlv-refused", Hex("0D0A0D0A000D0A515549540A 21 11 0011 7F000001 7F000001 1F90 1F90 04 0003 AAAA")),
    ];
}
