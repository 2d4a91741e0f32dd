namespace Gateway.Answers;

/// <summary>
/// An answer on its way to the store, and who to ack when it is stored. <paramref name="Socket"/> is the
/// acknowledger's own token for the socket that sent it (compared by reference, never read by a sink);
/// <paramref name="Sid"/> is that socket's id as stored with the answer.
/// </summary>
internal sealed record PendingAnswer(IAnswerAcknowledger Acknowledger, object Socket, string Sid, long AckId, string PromptId, string Data, long AtMs);
