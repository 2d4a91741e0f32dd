using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Protocol;
using Gateway.Protocol.EngineIO;

namespace Gateway.Benchmarks.Protocol;

/// <summary>Engine.IO v4 text packets and polling base64 records, around a 300-byte Socket.IO event.</summary>
[MemoryDiagnoser]
public class EngineIOPacketBenchmarks
{
    private readonly ArrayBufferWriter<byte> _writer = new(4096);
    private byte[] _packet = [];
    private byte[] _data = [];
    private byte[] _binary = [];
    private byte[] _base64 = [];

    [GlobalSetup]
    public void Setup()
    {
        _data = Samples.PromptEvent;
        _packet = [(byte)'4', .. _data];
        _binary = new byte[1024];
        new Random(7).NextBytes(_binary);
        _base64 = Encoding.ASCII.GetBytes(Convert.ToBase64String(_binary));
    }

    /// <summary>The floor of any write: copying the same bytes into the same writer.</summary>
    [Benchmark(Baseline = true)]
    public int CopyOnly()
    {
        _writer.ResetWrittenCount();
        _writer.Write(_data);
        return _writer.WrittenCount;
    }

    /// <summary>A batch of 64 (one parse is a couple of instructions, below timer resolution).</summary>
    [Benchmark(OperationsPerInvoke = 64)]
    public int ParseText()
    {
        int sum = 0;
        byte[] packet = _packet;
        for (int i = 0; i < 64; i++)
        {
            EngineIOPacket.TryParseText(packet.AsSpan(i & 7), out EngineIOPacketType type, out ReadOnlySpan<byte> data);
            sum += (int)type + data.Length;
        }

        return sum;
    }

    [Benchmark]
    public int WriteText()
    {
        _writer.ResetWrittenCount();
        EngineIOPacket.WriteText(_writer, EngineIOPacketType.Message, _data);
        return _writer.WrittenCount;
    }

    [Benchmark]
    public int WriteBase64Record1K()
    {
        _writer.ResetWrittenCount();
        EngineIOPacket.WriteBase64Record(_writer, _binary);
        return _writer.WrittenCount;
    }

    [Benchmark]
    public int DecodeBase64Record1K()
    {
        _writer.ResetWrittenCount();
        return EngineIOPacket.TryDecodeBase64(_base64, _writer) == ProtocolError.None ? _writer.WrittenCount : -1;
    }
}
