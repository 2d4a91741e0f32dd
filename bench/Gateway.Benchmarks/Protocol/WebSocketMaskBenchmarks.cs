using BenchmarkDotNet.Attributes;
using Gateway.Protocol.WebSockets;

namespace Gateway.Benchmarks.Protocol;

/// <summary>RFC 6455 §5.3 unmasking of client payloads, against the byte-at-a-time loop the RFC describes.</summary>
[MemoryDiagnoser]
public class WebSocketMaskBenchmarks
{
    private const uint MaskKey = 0x37FA213Du;
    private byte[] _data = [];

    [Params(16, 1024, 65536)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Size];
        new Random(42).NextBytes(_data);
    }

    [Benchmark(Baseline = true)]
    public int Scalar()
    {
        byte[] data = _data;
        for (int i = 0; i < data.Length; i++)
        {
            data[i] ^= (byte)(MaskKey >> (8 * (i & 3)));
        }

        return data.Length & 3;
    }

    [Benchmark]
    public int Apply() => WebSocketMask.Apply(_data, MaskKey, 0);
}
