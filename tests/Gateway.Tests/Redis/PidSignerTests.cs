using System.Security.Cryptography;
using Gateway.Prompts;
using Gateway.Redis;

namespace Gateway.Tests.Redis;

/// <summary>Signed pids: what one gateway issues, any gateway of the region with the same secret verifies.</summary>
public sealed class PidSignerTests
{
    private static readonly byte[] Secret = RandomNumberGenerator.GetBytes(32);
    private static readonly StreamPosition Joined = new(1764700000123, new StreamId(1764700000000, 7));

    private static PidSigner Signer(byte[]? secret = null, string instance = "inst0001") => new(instance) { Secret = secret ?? Secret };

    [Fact]
    public void TryRead_IssuedPid_VerifiesWithItsFields()
    {
        PidSigner signer = Signer();
        long before = DateTimeOffset.UtcNow.ToUnixTimeSeconds() * 1000;
        string pid = signer.Issue("sid-123", "/quiz", Joined);

        Assert.True(signer.TryRead(pid, "/quiz", out SignedPid signed));
        Assert.Equal(("sid-123", "inst0001", Joined), (signed.Sid, signed.Instance, signed.Joined));
        Assert.InRange(signed.IssuedAtMs, before, before + 60_000);
    }

    [Fact]
    public void TryRead_OtherGatewayWithTheRegionSecret_Verifies()
    {
        string pid = Signer(instance: "inst0001").Issue("sid-123", "/", Joined);

        Assert.True(Signer(instance: "inst0002").TryRead(pid, "/", out SignedPid signed));
        Assert.Equal("inst0001", signed.Instance);
    }

    [Fact]
    public void TryRead_OtherNamespace_Fails()
    {
        PidSigner signer = Signer();
        string pid = signer.Issue("sid-123", "/quiz", Joined);

        Assert.False(signer.TryRead(pid, "/", out _));
        Assert.False(signer.TryRead(pid, "/quiz2", out _));
    }

    [Fact]
    public void TryRead_EveryFieldTampered_Fails()
    {
        PidSigner signer = Signer();
        string pid = signer.Issue("sid-123", "/", Joined);
        string[] parts = pid.Split('.');
        Assert.Equal(6, parts.Length); // sid.instance.issuedAt.joinedAt.joinId.mac
        for (int field = 0; field < parts.Length; field++)
        {
            string[] tampered = (string[])parts.Clone();
            char last = tampered[field][^1];
            tampered[field] = tampered[field][..^1] + (last == '1' ? '2' : '1');
            Assert.False(signer.TryRead(string.Join('.', tampered), "/", out _), $"field {field} tampered");
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-pid")]
    [InlineData("a.b.c.d.e.f")]
    [InlineData("sid.inst0001.1.2.3-0.")]
    public void TryRead_Malformed_Fails(string pid) => Assert.False(Signer().TryRead(pid, "/", out _));

    [Fact]
    public void TryRead_OtherSecret_Fails()
    {
        string pid = Signer().Issue("sid-123", "/", Joined);

        Assert.False(Signer(RandomNumberGenerator.GetBytes(32)).TryRead(pid, "/", out _));
    }

    [Fact]
    public void Issue_SecretNotKnownYet_IsARandomIdThatNeverVerifies()
    {
        var signer = new PidSigner("inst0001");
        string pid = signer.Issue("sid-123", "/", Joined);

        Assert.DoesNotContain('.', pid);
        Assert.False(signer.TryRead(pid, "/", out _));
        signer.Secret = Secret;
        Assert.False(signer.TryRead(pid, "/", out _));
    }

    [Fact]
    public void NewInstanceId_HasTheLengthPidsCarry() => Assert.Equal(PidSigner.InstanceIdLength, PidSigner.NewInstanceId().Length);
}
