using System.Globalization;
using System.Text;

namespace Gateway.LoadGen.Tests;

/// <summary>
/// A client's clock offset comes from the <c>time</c> ack; with <c>--same-clock</c> (target on this machine) it is
/// zero, so a slow ack during the ramp cannot shift every latency that client measures.
/// </summary>
public sealed class ClockOffsetTests
{
    private static readonly long MinuteMs = 60_000;

    private static byte[] TimeAck(long serverNowMs) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $$"""[{"now":{{serverNowMs}}}]"""));

    [Fact]
    public void WithoutSameClockTheAckSetsTheOffset()
    {
        VirtualClient client = TrailingOffsetTests.NewClient(out Metrics m);
        client.ReceiveTimeAck(TimeAck(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + MinuteMs));

        // The server is a minute ahead (plus half the round trip, unknown here: no time request was sent).
        Assert.True(client.ClockOffsetMs > MinuteMs - 1000, $"offset {client.ClockOffsetMs} ms");
        Assert.Equal(1, m.ClockSamples);
    }

    [Fact]
    public void SameClockKeepsTheOffsetAtZeroAndMeasuresOnTheLocalClock()
    {
        VirtualClient client = TrailingOffsetTests.NewClient(out Metrics m, "--same-clock");
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        client.ReceiveTimeAck(TimeAck(now + MinuteMs));

        Assert.Equal(0, client.ClockOffsetMs);
        Assert.Equal(1, m.ClockSamples);

        // A prompt sent half a second ago by this clock is half a second late, not a minute more.
        client.ReceiveEvent(Encoding.UTF8.GetBytes($$"""2["prompt",{"id":"p-1","sentAt":{{now - 500}},"payload":"x"}]"""));
        Assert.Equal(1, m.Prompts[0].Received);
        Assert.InRange(m.Prompts[0].Latency.Max, 500_000, 30_000_000);
    }
}
