using System.Security.Cryptography;
using System.Text;
using Gateway.Protocol.WebSockets;

namespace Gateway.Protocol.Tests.WebSockets;

public class Sha1Tests
{
    [Theory]
    [InlineData("", "da39a3ee5e6b4b0d3255bfef95601890afd80709")]
    [InlineData("abc", "a9993e364706816aba3e25717850c26c9cd0d89d")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1")]
    public void HashData_FipsVectors_ReturnsDigest(string input, string expectedHex)
    {
        byte[] hash = new byte[Sha1.HashLength];

        Sha1.HashData(Encoding.ASCII.GetBytes(input), hash);

        Assert.Equal(expectedHex, Convert.ToHexStringLower(hash));
    }

    [Fact]
    public void HashData_EveryLengthTo200_MatchesPlatformSha1()
    {
        var random = new Random(6455);
        for (int length = 0; length <= 200; length++)
        {
            byte[] data = new byte[length];
            random.NextBytes(data);
            byte[] hash = new byte[Sha1.HashLength];

            Sha1.HashData(data, hash);

            Assert.Equal(SHA1.HashData(data), hash);
        }
    }
}
