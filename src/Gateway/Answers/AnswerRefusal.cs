namespace Gateway.Answers;

/// <summary>
/// Why an answer was not stored. The client reads it in its ack as <c>{"ok":false,"error":"…"}</c>; the text for each
/// value is in <see cref="AnswerRefusals"/>, and only there.
/// </summary>
internal enum AnswerRefusal : byte
{
    /// <summary>Not refused: stored (<c>{"ok":true}</c>).</summary>
    None,

    /// <summary>This viewer already answered that prompt (on any gateway of the region, from any tab or connection).</summary>
    Duplicate,

    /// <summary>Over <c>Answers:PerSocketPerSecond</c>.</summary>
    RateLimited,

    /// <summary>The buffer of answers waiting for the store is full.</summary>
    Busy,

    /// <summary>No store (embedded mode), the store is away, or the gateway is stopping.</summary>
    Unavailable,

    /// <summary>The prompt answered is not revealed yet (it was sent ahead of its reveal instant).</summary>
    TooEarly,

    /// <summary>The event's arguments are not JSON.</summary>
    InvalidAnswer,

    /// <summary>The argument is not an object.</summary>
    InvalidAnswerNotAnObject,

    /// <summary>More than one argument.</summary>
    InvalidAnswerOneArgumentExpected,

    /// <summary>The object has no usable <c>promptId</c>.</summary>
    InvalidAnswerPromptIdRequired,

    /// <summary>After the prompt's <c>answer_until</c>.</summary>
    Closed,
}
