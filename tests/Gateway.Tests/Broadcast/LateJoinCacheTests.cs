using Gateway.Broadcast;
using Gateway.Tests.EngineIO;

namespace Gateway.Tests.Broadcast;

/// <summary>The late-join cache's ages run on the injected clock: a current prompt is offered while younger than the age.</summary>
public class LateJoinCacheTests
{
    private static List<CurrentPrompt> Current(SessionHarness harness, int maxAgeMs)
    {
        var current = new List<CurrentPrompt>();
        harness.Runtime.Broadcaster.CollectCurrent(0, [null], [ChannelRegistry.WholeNamespace], before: long.MaxValue, maxAgeMs, current);
        return current;
    }

    [Fact]
    public void CurrentPrompt_IsOfferedUntilItIsOlderThanTheMaxAge()
    {
        using var harness = new SessionHarness(o => o.LateJoin.MaxAge = 30_000);
        harness.Broadcast("2[\"prompt\",1]", "p-1");

        Assert.Single(Current(harness, 30_000));
        harness.Advance(30_000);
        Assert.Single(Current(harness, 30_000));
        harness.Advance(1);
        Assert.Empty(Current(harness, 30_000));
    }
}
