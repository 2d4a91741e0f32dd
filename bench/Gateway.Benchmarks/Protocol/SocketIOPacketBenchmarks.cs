using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Gateway.Protocol;
using Gateway.Protocol.SocketIO;

namespace Gateway.Benchmarks.Protocol;

/// <summary>Socket.IO v5 packets: a 300-byte text EVENT and a BINARY_EVENT with two attachment placeholders.</summary>
[MemoryDiagnoser]
public class SocketIOPacketBenchmarks
{
    private static readonly byte[] s_binaryEvent =
        "52-/uploads,7[\"upload\",{\"name\":\"a.png\",\"data\":{\"_placeholder\":true,\"num\":0}},{\"_placeholder\":true,\"num\":1}]"u8.ToArray();

    private static readonly byte[] s_binaryArguments =
        "{\"name\":\"a.png\",\"data\":{\"_placeholder\":true,\"num\":0}},{\"_placeholder\":true,\"num\":1}"u8.ToArray();

    private readonly ArrayBufferWriter<byte> _writer = new(4096);
    private byte[] _textEvent = [];
    private byte[] _textPayload = [];

    [GlobalSetup]
    public void Setup()
    {
        _textEvent = Samples.PromptEvent;
        _textPayload = _textEvent.AsSpan(1).ToArray();
    }

    /// <summary>The floor: one Utf8JsonReader pass over the same JSON, which the parser needs for validity anyway.</summary>
    [Benchmark(Baseline = true)]
    public int JsonReaderPass()
    {
        var reader = new Utf8JsonReader(_textPayload);
        int tokens = 0;
        while (reader.Read())
        {
            tokens++;
        }

        return tokens;
    }

    [Benchmark]
    public int ParseTextEvent()
    {
        ProtocolError error = SocketIOPacketParser.TryParse(_textEvent, out SocketIOPacket packet);
        return (int)error + packet.EventName.Length + packet.EventArguments.Length;
    }

    [Benchmark]
    public int ParseBinaryEvent()
    {
        ProtocolError error = SocketIOPacketParser.TryParse(s_binaryEvent, out SocketIOPacket packet);
        return (int)error + packet.Attachments + packet.Namespace.Length + (int)packet.AckId;
    }

    [Benchmark]
    public int EncodeTextEvent()
    {
        _writer.ResetWrittenCount();
        SocketIOPacketWriter.WriteEvent(_writer, "/"u8, "prompt"u8, Samples.PromptArguments);
        return _writer.WrittenCount;
    }

    /// <summary>The text part of a binary event (the attachments follow as their own frames, copied as they are).</summary>
    [Benchmark]
    public int EncodeBinaryEvent()
    {
        _writer.ResetWrittenCount();
        SocketIOPacketWriter.WriteEvent(_writer, "/uploads"u8, "upload"u8, s_binaryArguments, ackId: 7, attachments: 2);
        return _writer.WrittenCount;
    }
}
