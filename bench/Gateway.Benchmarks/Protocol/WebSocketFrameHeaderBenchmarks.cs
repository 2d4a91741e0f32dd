using System.Buffers;
using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Gateway.Benchmarks.Fakes;
using Gateway.Protocol;
using Gateway.Protocol.WebSockets;

namespace Gateway.Benchmarks.Protocol;

/// <summary>
/// RFC 6455 frame headers. One header takes a few nanoseconds, below what a timer resolves on a shared machine, so
/// each invocation handles a batch of 64 headers of mixed lengths (7-bit, 16-bit, 64-bit) and reports per header.
/// </summary>
[MemoryDiagnoser]
public class WebSocketFrameHeaderBenchmarks
{
    private const int Count = 64;
    private const int Stride = 16;
    private static readonly long[] s_lengths = [5, 125, 300, 65535, 70000];

    private readonly byte[] _clientHeaders = new byte[Count * Stride];
    private readonly byte[] _serverHeaders = new byte[Count * Stride];
    private readonly long[] _payloadLengths = new long[Count];
    private ReadOnlySequence<byte> _straddling;

    [GlobalSetup]
    public void Setup()
    {
        for (int i = 0; i < Count; i++)
        {
            _payloadLengths[i] = s_lengths[i % s_lengths.Length];
            WebSocketFrameHeader.Write(_clientHeaders.AsSpan(i * Stride), WebSocketOpcode.Text, fin: true, _payloadLengths[i], maskKey: 0x11223344u + (uint)i);
        }

        // A 16-bit-length masked header (8 bytes) cut after 3 bytes: the copy-to-stack path.
        byte[] header = new byte[WebSocketFrameHeader.MaxLength];
        int length = WebSocketFrameHeader.Write(header, WebSocketOpcode.Binary, fin: true, 1000, maskKey: 0xA1B2C3D4u);
        _straddling = SplitSequence.Create(header.AsSpan(0, length).ToArray(), splitAt: 3);
    }

    /// <summary>The floor: a decoder that trusts its input (no RSV, opcode, mask or length checks).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Count)]
    public long ReadUnchecked()
    {
        long sum = 0;
        ReadOnlySpan<byte> all = _clientHeaders;
        for (int i = 0; i < Count; i++)
        {
            ReadOnlySpan<byte> h = all.Slice(i * Stride, Stride);
            int length7 = h[1] & 0x7F;
            long length = length7 switch
            {
                126 => BinaryPrimitives.ReadUInt16BigEndian(h.Slice(2)),
                127 => (long)BinaryPrimitives.ReadUInt64BigEndian(h.Slice(2)),
                _ => length7,
            };
            int maskAt = length7 == 126 ? 4 : length7 == 127 ? 10 : 2;
            sum += length + BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(maskAt));
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Count)]
    public long Read()
    {
        long sum = 0;
        ReadOnlySpan<byte> all = _clientHeaders;
        for (int i = 0; i < Count; i++)
        {
            WebSocketFrameHeader.TryRead(all.Slice(i * Stride, Stride), requireMask: true, out WebSocketFrameHeader header, out ProtocolError _);
            sum += header.PayloadLength + header.MaskKey;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Count)]
    public long ReadStraddlingSegments()
    {
        long sum = 0;
        for (int i = 0; i < Count; i++)
        {
            WebSocketFrameHeader.TryRead(in _straddling, requireMask: true, out WebSocketFrameHeader header, out ProtocolError _);
            sum += header.PayloadLength;
        }

        return sum;
    }

    /// <summary>Server frames (unmasked), as the fan-out and every reply write them.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public int Write()
    {
        int sum = 0;
        Span<byte> all = _serverHeaders;
        for (int i = 0; i < Count; i++)
        {
            sum += WebSocketFrameHeader.Write(all.Slice(i * Stride, Stride), WebSocketOpcode.Text, fin: true, _payloadLengths[i]);
        }

        return sum;
    }
}
