using System.Buffers;
using BenchmarkDotNet.Attributes;
using Gateway.Protocol.EngineIO;

namespace Gateway.Benchmarks.Protocol;

/// <summary>An Engine.IO long-polling body of 8 records (events, a ping reply, a base64 attachment): split and join.</summary>
[MemoryDiagnoser]
public class EngineIOPollingPayloadBenchmarks
{
    private readonly ArrayBufferWriter<byte> _writer = new(16 * 1024);
    private byte[][] _records = [];
    private byte[] _payload = [];

    [GlobalSetup]
    public void Setup()
    {
        byte[] evt = [(byte)'4', .. Samples.PromptEvent];
        _records =
        [
            evt, "3"u8.ToArray(), evt, "42[\"tick\",1]"u8.ToArray(), evt,
            "451-[\"file\",{\"_placeholder\":true,\"num\":0}]"u8.ToArray(), "bAQIDBAUGBwgJCgsMDQ4PEA=="u8.ToArray(), evt,
        ];
        var joined = new ArrayBufferWriter<byte>();
        for (int i = 0; i < _records.Length; i++)
        {
            EngineIOPollingPayload.AppendRecord(joined, _records[i], first: i == 0);
        }

        _payload = joined.WrittenSpan.ToArray();
    }

    /// <summary>The floor: one vectorized scan for the separators.</summary>
    [Benchmark(Baseline = true)]
    public int CountSeparators() => _payload.AsSpan().Count(EngineIOPollingPayload.RecordSeparator);

    [Benchmark]
    public int Split()
    {
        int sum = 0;
        foreach (ReadOnlySpan<byte> record in EngineIOPollingPayload.Split(_payload))
        {
            sum += record.Length;
        }

        return sum;
    }

    [Benchmark]
    public int Join()
    {
        _writer.ResetWrittenCount();
        byte[][] records = _records;
        for (int i = 0; i < records.Length; i++)
        {
            EngineIOPollingPayload.AppendRecord(_writer, records[i], first: i == 0);
        }

        return _writer.WrittenCount;
    }
}
