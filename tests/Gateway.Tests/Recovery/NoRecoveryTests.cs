using Gateway.Prompts;
using Gateway.Recovery;

namespace Gateway.Tests.Recovery;

public sealed class NoRecoveryTests
{
    private sealed class NeverCalled : IRecoveryTarget
    {
        public void CompleteRecovery(RecoveryRequest request, RecoveredState? state) => throw new InvalidOperationException("no recovery completes later");
    }

    [Fact]
    public void Offered_IsFalse() => Assert.False(NoRecovery.Instance.Offered);

    [Fact]
    public void TryRequest_Always_FailsAtOnce()
    {
        var request = new RecoveryRequest(new NeverCalled(), 0, "pid", "1-0", auth: null, authChannels: null);

        Assert.False(NoRecovery.Instance.TryRequest(request));
    }

    [Fact]
    public void SaveAndFlush_DoNothing()
    {
        IRecovery recovery = NoRecovery.Instance;
        recovery.SaveSession("pid", "sid", "/", StreamPosition.Start, ["a", "b"]);
        recovery.SaveChannels("pid", ["a"]);
        recovery.Flush();
    }

    [Fact]
    public void IssuePid_NotOffered_Throws() =>
        Assert.Throws<InvalidOperationException>(() => NoRecovery.Instance.IssuePid("sid", "/", StreamPosition.Start));

    [Theory]
    [InlineData("1764700000000-3", true)]
    [InlineData("1764700000000", true)]
    [InlineData("abc", false)]
    public void RecoveryRequest_Offset_IsParsedWhenAStreamId(string offset, bool parsed)
    {
        var request = new RecoveryRequest(new NeverCalled(), 0, "pid", offset, auth: null, authChannels: null);

        Assert.Equal(offset, request.OffsetText);
        Assert.Equal(parsed, request.Offset is not null);
    }
}
