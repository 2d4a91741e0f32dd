using Gateway.Broadcast;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Broadcast;

/// <summary>The channel registry's bounds and reclaiming, on a fake clock.</summary>
public class ChannelRegistryTests
{
    private readonly FakeTimeProvider _time = new();

    private static ChannelRefusal Join(ChannelRegistry registry, int newAllowed, params string[] names) =>
        registry.TryJoin(names, newAllowed, new long[names.Length], out _);

    [Fact]
    public void Leave_LastMember_FreesTheName_AndARejoinGetsANewId()
    {
        var registry = new ChannelRegistry(time: _time);
        long[] first = new long[1];
        long[] second = new long[1];
        Assert.Equal(ChannelRefusal.None, registry.TryJoin(["a"], 1, first, out int created));
        Assert.Equal(1, created);
        Assert.Equal(ChannelRefusal.None, registry.TryJoin(["a"], 0, second, out created)); // a second member: not new
        Assert.Equal((0, first[0]), (created, second[0]));

        registry.Leave("a");
        Assert.Equal(first[0], registry.Find("a"));
        registry.Leave("a");
        Assert.Equal((0, ChannelRegistry.NoMembers), (registry.Count, registry.Find("a")));

        // Ids are never reused: a ring slot addressed to the old channel cannot reach the new one's members.
        Assert.Equal(ChannelRefusal.None, registry.TryJoin(["a"], 1, second, out _));
        Assert.NotEqual(first[0], second[0]);
    }

    [Fact]
    public void TryJoin_Full_RefusesNewNames_AllOrNothing_ExistingOnesStillJoin_FreedRoomIsReused()
    {
        var registry = new ChannelRegistry(capacity: 3, time: _time);
        Assert.Equal(ChannelRefusal.None, Join(registry, 3, "a", "b"));
        Assert.Equal(ChannelRefusal.RegistryFull, Join(registry, 3, "a", "c", "d"));
        Assert.Equal(2, registry.Count); // nothing of the refused call was taken
        Assert.Equal(ChannelRefusal.None, Join(registry, 3, "c"));
        Assert.Equal(ChannelRefusal.RegistryFull, Join(registry, 3, "d"));
        Assert.Equal(ChannelRefusal.None, Join(registry, 0, "a"));

        registry.Leave("c");
        Assert.Equal(ChannelRefusal.None, Join(registry, 3, "d"));
    }

    [Fact]
    public void TryJoin_MoreNewNamesThanAllowed_RefusesNewPerSocket()
    {
        var registry = new ChannelRegistry(time: _time);
        Assert.Equal(ChannelRefusal.NewPerSocket, Join(registry, 1, "a", "b"));
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public void TryJoin_NewNamesFasterThanNewPerSecond_RefusedUntilTheBucketRefills()
    {
        var registry = new ChannelRegistry(newPerSecond: 4, time: _time);
        Assert.Equal(ChannelRefusal.None, Join(registry, 10, "a", "b", "c", "d"));
        registry.Leave("a");
        Assert.Equal(ChannelRefusal.NewPerSecond, Join(registry, 10, "e"));
        Assert.Equal(ChannelRefusal.None, Join(registry, 10, "b")); // joining an existing name costs nothing

        _time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.Equal(ChannelRefusal.None, Join(registry, 10, "e"));
        Assert.Equal(ChannelRefusal.NewPerSecond, Join(registry, 10, "f"));
        _time.Advance(TimeSpan.FromSeconds(10)); // refills to one second's worth, not more
        Assert.Equal(ChannelRefusal.NewPerSecond, Join(registry, 10, "f", "g", "h", "i", "j"));
        Assert.Equal(ChannelRefusal.None, Join(registry, 10, "f", "g", "h", "i"));
    }

    [Fact]
    public void MembersAndTop_FollowJoinsAndLeaves_LargestFirst_FreedNamesGone()
    {
        var registry = new ChannelRegistry(time: _time);
        foreach ((string name, int members) in new[] { ("small", 1), ("big", 3), ("mid", 2) })
        {
            for (int i = 0; i < members; i++)
            {
                Assert.Equal(ChannelRefusal.None, Join(registry, 1, name));
            }
        }

        Assert.Equal((3, 2, 0), (registry.Members("big"), registry.Members("mid"), registry.Members("none")));
        Assert.Equal([new("big", 3), new("mid", 2)], registry.Top(2));

        registry.Leave("big");
        registry.Leave("big");
        registry.Leave("big");
        Assert.Equal([new("mid", 2), new("small", 1)], registry.Top(10));
        Assert.Empty(registry.Top(0));
    }

    [Fact]
    public void IsValidName_NonEmptyBoundedWellFormedText()
    {
        // Facts, not inline data: a test runner's serialization would turn a lone surrogate into U+FFFD.
        Assert.True(ChannelRegistry.IsValidName("show-42"));
        Assert.True(ChannelRegistry.IsValidName("caf\u00e9 \U0001F600"));
        Assert.False(ChannelRegistry.IsValidName(""));
        Assert.False(ChannelRegistry.IsValidName(null));
        Assert.False(ChannelRegistry.IsValidName("\ud800"));
        Assert.False(ChannelRegistry.IsValidName("a\udc00"));
        Assert.False(ChannelRegistry.IsValidName("\ud83d\ud83d"));
        Assert.True(ChannelRegistry.IsValidName(new string('x', ChannelRegistry.MaxNameLength)));
        Assert.False(ChannelRegistry.IsValidName(new string('x', ChannelRegistry.MaxNameLength + 1)));
    }
}
