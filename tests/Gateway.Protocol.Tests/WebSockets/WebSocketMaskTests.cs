using Gateway.Protocol.WebSockets;

namespace Gateway.Protocol.Tests.WebSockets;

public class WebSocketMaskTests
{
    // RFC 6455 §5.7 mask bytes 37 fa 21 3d, read little-endian.
    private const uint RfcMask = 0x3d21fa37u;

    [Fact]
    public void Apply_Rfc6455MaskedHello_UnmasksToHello()
    {
        // Masked payload of "Hello" from the §5.7 example.
        byte[] payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];

        int next = WebSocketMask.Apply(payload, RfcMask, 0);

        Assert.Equal("Hello"u8.ToArray(), payload);
        Assert.Equal(1, next);
    }

    [Fact]
    public void Apply_Lengths0To100AtEveryKeyOffset_EqualsScalarReference()
    {
        var random = new Random(6455);
        for (int length = 0; length <= 100; length++)
        {
            for (int offset = 0; offset < 4; offset++)
            {
                byte[] data = new byte[length];
                random.NextBytes(data);
                uint key = (uint)random.Next() ^ ((uint)random.Next() << 16);
                byte[] expected = ScalarReference(data, key, offset);

                int next = WebSocketMask.Apply(data, key, offset);

                Assert.Equal(expected, data);
                Assert.Equal((offset + length) % 4, next);
            }
        }
    }

    [Fact]
    public void Apply_64KiBAtEveryKeyOffset_EqualsScalarReference()
    {
        var random = new Random(65536);
        for (int offset = 0; offset < 4; offset++)
        {
            byte[] data = new byte[65536];
            random.NextBytes(data);
            byte[] expected = ScalarReference(data, RfcMask, offset);

            int next = WebSocketMask.Apply(data, RfcMask, offset);

            Assert.Equal(expected, data);
            Assert.Equal(offset, next);
        }
    }

    [Fact]
    public void Apply_UnalignedSlicesOfLargeBuffer_EqualsScalarReference()
    {
        // Vector loads at every alignment, and the bytes around the slice stay untouched.
        var random = new Random(42);
        byte[] source = new byte[300];
        random.NextBytes(source);
        for (int start = 0; start < 40; start++)
        {
            for (int offset = 0; offset < 4; offset++)
            {
                byte[] data = (byte[])source.Clone();
                int length = 200 + start;
                byte[] expected = (byte[])source.Clone();
                byte[] masked = ScalarReference(source.AsSpan(start, length).ToArray(), RfcMask, offset);
                masked.CopyTo(expected, start);

                WebSocketMask.Apply(data.AsSpan(start, length), RfcMask, offset);

                Assert.Equal(expected, data);
            }
        }
    }

    [Fact]
    public void Apply_ChunkedAtEverySplit_EqualsWholeApplication()
    {
        var random = new Random(7);
        byte[] source = new byte[97];
        random.NextBytes(source);
        byte[] expected = ScalarReference(source, RfcMask, 0);
        for (int split = 0; split <= source.Length; split++)
        {
            byte[] data = (byte[])source.Clone();

            int next = WebSocketMask.Apply(data.AsSpan(0, split), RfcMask, 0);
            next = WebSocketMask.Apply(data.AsSpan(split), RfcMask, next);

            Assert.Equal(expected, data);
            Assert.Equal(source.Length % 4, next);
        }
    }

    [Fact]
    public void Apply_OneBytePerCall_EqualsWholeApplication()
    {
        byte[] source = new byte[70];
        new Random(8).NextBytes(source);
        byte[] expected = ScalarReference(source, RfcMask, 2);
        byte[] data = (byte[])source.Clone();

        int next = 2;
        for (int i = 0; i < data.Length; i++)
        {
            next = WebSocketMask.Apply(data.AsSpan(i, 1), RfcMask, next);
        }

        Assert.Equal(expected, data);
    }

    [Fact]
    public void Apply_Twice_RestoresData()
    {
        byte[] source = new byte[1000];
        new Random(9).NextBytes(source);
        byte[] data = (byte[])source.Clone();

        WebSocketMask.Apply(data, 0xDEADBEEFu, 3);
        Assert.NotEqual(source, data);
        WebSocketMask.Apply(data, 0xDEADBEEFu, 3);

        Assert.Equal(source, data);
    }

    [Fact]
    public void Apply_EmptyData_ReturnsOffsetUnchanged()
    {
        for (int offset = 0; offset < 4; offset++)
        {
            Assert.Equal(offset, WebSocketMask.Apply(Span<byte>.Empty, RfcMask, offset));
        }
    }

    // RFC 6455 §5.3: transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4), the key in wire order.
    private static byte[] ScalarReference(byte[] data, uint maskKey, int offset)
    {
        byte[] key = [(byte)maskKey, (byte)(maskKey >> 8), (byte)(maskKey >> 16), (byte)(maskKey >> 24)];
        byte[] result = new byte[data.Length];
        for (int i = 0; i < data.Length; i++)
        {
            result[i] = (byte)(data[i] ^ key[(offset + i) % 4]);
        }

        return result;
    }
}
