using Gateway.Streams;
using StackExchange.Redis;

namespace Gateway.Tests.Streams;

/// <summary>The prompt stream's wire contract as any publisher may write it.</summary>
public sealed class PromptEntryTests
{
    private static StreamEntry Entry(params (string Name, string Value)[] fields) =>
        new("1764700000000-0", fields.Select(f => new NameValueEntry(f.Name, f.Value)).ToArray());

    [Fact]
    public void Fields_RoundTrip()
    {
        var prompt = new PromptEntry("q-42", "/quiz", "show-7", "question", "[{\"q\":\"Who?\"},2]", 1764700005000);
        Assert.Null(PromptEntry.TryRead(new StreamEntry("1-0", prompt.ToFields()), out PromptEntry? read));
        Assert.Equal(prompt, read);
    }

    [Fact]
    public void SendAhead_RoundTripsAsItsOwnField()
    {
        var prompt = new PromptEntry("q-42", "/", null, "prompt", "[]", 1764700005000, SendAheadMs: 2000);
        NameValueEntry[] fields = prompt.ToFields();
        Assert.Equal("2000", fields.Single(f => f.Name == "send_ahead").Value.ToString());
        Assert.Null(PromptEntry.TryRead(new StreamEntry("1-0", fields), out PromptEntry? read));
        Assert.Equal(prompt, read);
        Assert.DoesNotContain(new PromptEntry("q-1", "/", null, "prompt", "[]").ToFields(), f => f.Name == "send_ahead");
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-5")]
    [InlineData("1.5")]
    public void SendAhead_NotWholeMilliseconds_IsRefused(string sendAhead)
    {
        Assert.Contains("send_ahead must be milliseconds", PromptEntry.TryRead(Entry(("id", "q"), ("send_ahead", sendAhead)), out PromptEntry? read));
        Assert.Null(read);
    }

    [Fact]
    public void SendAhead_Negative_IsInvalidBeforeItIsWritten() =>
        Assert.Equal("send_ahead must be >= 0 ms", new PromptEntry("q", "/", null, "prompt", "[]", SendAheadMs: -1).Validate());

    [Fact]
    public void MissingOptionalFields_TakeTheirDefaults()
    {
        Assert.Null(PromptEntry.TryRead(Entry(("id", "q-1")), out PromptEntry? read));
        Assert.Equal(new PromptEntry("q-1", "/", null, "prompt", "[]"), read);
        Assert.Null(PromptEntry.TryRead(Entry(("id", "q-2"), ("ns", ""), ("ch", ""), ("ev", ""), ("data", "")), out read));
        Assert.Equal(new PromptEntry("q-2", "/", null, "prompt", "[]"), read);
    }

    [Theory]
    [InlineData("", "/", "[]", "", "id must be")]
    [InlineData("q", "quiz", "[]", "", "ns must start with '/'")]
    [InlineData("q", "/", "{\"a\":1}", "", "data must be a JSON array")]
    [InlineData("q", "/", "[1,", "", "data must be a JSON array")]
    [InlineData("q", "/", "[]", "soon", "reveal_at must be milliseconds")]
    [InlineData("q", "/", "[]", "-5", "reveal_at must be milliseconds")]
    public void Invalid_IsRefusedWithItsReason(string id, string ns, string data, string revealAt, string reason)
    {
        var fields = new List<(string, string)> { ("id", id), ("ns", ns), ("data", data) };
        if (revealAt.Length > 0)
        {
            fields.Add(("reveal_at", revealAt));
        }

        string? error = PromptEntry.TryRead(Entry(fields.ToArray()), out PromptEntry? read);
        Assert.Null(read);
        Assert.NotNull(error);
        Assert.Contains(reason, error);
    }

    [Fact]
    public void OverlongId_IsRefused() =>
        Assert.NotNull(new PromptEntry(new string('x', PromptEntry.MaxIdLength + 1), "/", null, "prompt", "[]").Validate());

    [Fact]
    public void Keys_FollowTheContract()
    {
        var stream = new PromptStream();
        Assert.Equal("gateway:prompts", (string?)stream.Key);
        Assert.Equal("gateway:prompts:wake", stream.WakeChannel.ToString());
    }
}
