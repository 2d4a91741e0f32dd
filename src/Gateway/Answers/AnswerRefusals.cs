using System.Diagnostics;

namespace Gateway.Answers;

/// <summary>The wire text of each <see cref="AnswerRefusal"/>: the <c>error</c> of an answer's ack. Clients match on these strings.</summary>
internal static class AnswerRefusals
{
    /// <summary>The text for <paramref name="refusal"/> (ASCII, needs no JSON escaping); empty for <see cref="AnswerRefusal.None"/>.</summary>
    public static ReadOnlySpan<byte> WireText(AnswerRefusal refusal) => refusal switch
    {
        AnswerRefusal.None => default,
        AnswerRefusal.Duplicate => "duplicate"u8,
        AnswerRefusal.RateLimited => "rate limited"u8,
        AnswerRefusal.Busy => "busy"u8,
        AnswerRefusal.Unavailable => "unavailable"u8,
        AnswerRefusal.TooEarly => "too early"u8,
        AnswerRefusal.InvalidAnswer => "invalid answer"u8,
        AnswerRefusal.InvalidAnswerNotAnObject => "invalid answer: the argument must be an object with promptId"u8,
        AnswerRefusal.InvalidAnswerOneArgumentExpected => "invalid answer: one argument expected"u8,
        AnswerRefusal.InvalidAnswerPromptIdRequired => "invalid answer: promptId is required"u8,
        AnswerRefusal.Closed => "closed"u8,
        _ => throw new UnreachableException(),
    };
}
