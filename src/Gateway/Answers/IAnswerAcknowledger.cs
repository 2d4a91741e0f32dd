namespace Gateway.Answers;

/// <summary>Who sent an answer (the Engine.IO session): acks the client once the sink has decided, on the sink's thread.</summary>
internal interface IAnswerAcknowledger
{
    /// <summary><see cref="AnswerRefusal.None"/>: stored. Called exactly once for every answer a sink accepted.</summary>
    void CompleteAnswer(PendingAnswer answer, AnswerRefusal refusal);
}
