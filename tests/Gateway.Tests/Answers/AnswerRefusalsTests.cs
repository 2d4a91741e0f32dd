using System.Text;
using Gateway.Answers;

namespace Gateway.Tests.Answers;

/// <summary>The <c>error</c> text of an answer's ack: clients match on these strings, so they never change.</summary>
public sealed class AnswerRefusalsTests
{
    [Theory]
    // The enum is internal: the cases name it by its member name.
    [InlineData(nameof(AnswerRefusal.Duplicate), "duplicate")]
    [InlineData(nameof(AnswerRefusal.RateLimited), "rate limited")]
    [InlineData(nameof(AnswerRefusal.Busy), "busy")]
    [InlineData(nameof(AnswerRefusal.Unavailable), "unavailable")]
    [InlineData(nameof(AnswerRefusal.TooEarly), "too early")]
    [InlineData(nameof(AnswerRefusal.InvalidAnswer), "invalid answer")]
    [InlineData(nameof(AnswerRefusal.InvalidAnswerNotAnObject), "invalid answer: the argument must be an object with promptId")]
    [InlineData(nameof(AnswerRefusal.InvalidAnswerOneArgumentExpected), "invalid answer: one argument expected")]
    [InlineData(nameof(AnswerRefusal.InvalidAnswerPromptIdRequired), "invalid answer: promptId is required")]
    [InlineData(nameof(AnswerRefusal.Closed), "closed")]
    public void WireText_EachRefusal_IsTodaysString(string refusal, string expected) =>
        Assert.Equal(expected, Encoding.ASCII.GetString(AnswerRefusals.WireText(Enum.Parse<AnswerRefusal>(refusal))));

    [Fact]
    public void WireText_EveryRefusal_IsCoveredAbove() =>
        Assert.Equal(11, Enum.GetValues<AnswerRefusal>().Length); // None + the ten above: a new one needs its case

    [Fact]
    public void WireText_None_IsEmpty() => Assert.True(AnswerRefusals.WireText(AnswerRefusal.None).IsEmpty);

    [Fact]
    public void WireText_EveryRefusal_IsPrintableAsciiNeedingNoJsonEscape()
    {
        foreach (AnswerRefusal refusal in Enum.GetValues<AnswerRefusal>().Where(r => r != AnswerRefusal.None))
        {
            ReadOnlySpan<byte> text = AnswerRefusals.WireText(refusal);
            Assert.False(text.IsEmpty, refusal.ToString());
            foreach (byte b in text)
            {
                Assert.True(b is >= 0x20 and < 0x7F and not (byte)'"' and not (byte)'\\', $"{refusal}: byte {b}");
            }
        }
    }
}
