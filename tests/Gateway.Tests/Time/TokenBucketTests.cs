using Gateway.Time;

namespace Gateway.Tests.Time;

public sealed class TokenBucketTests
{
    [Fact]
    public void TryTake_EmptiesTheBurst_ThenRefillsAtTheRate_NeverAboveTheBurst()
    {
        var bucket = new TokenBucket(ratePerSecond: 10, burst: 3, now: 0);
        Assert.True(bucket.TryTake(0));
        Assert.True(bucket.TryTake(0));
        Assert.True(bucket.TryTake(0));
        Assert.False(bucket.TryTake(0));
        Assert.False(bucket.TryTake(99));
        Assert.True(bucket.TryTake(100)); // 10/s: one token per 100 ms
        Assert.False(bucket.TryTake(100));

        // A long pause saves up the burst, not more.
        Assert.True(bucket.TryTake(60_000));
        Assert.True(bucket.TryTake(60_000));
        Assert.True(bucket.TryTake(60_000));
        Assert.False(bucket.TryTake(60_000));
    }
}
