namespace Gateway.Answers;

/// <summary>
/// An answer on its way to the store, and who to ack when it is stored. <paramref name="Socket"/> is the
/// acknowledger's own token for the socket that sent it (compared by reference, never read by a sink);
/// <paramref name="Sid"/> is that socket's id as stored with the answer; <paramref name="Viewer"/> whose answer it is
/// (the JWT <c>sub</c>, or the socket id without viewer identity): one answer per viewer and prompt is stored.
/// </summary>
internal sealed record PendingAnswer(IAnswerAcknowledger Acknowledger, object Socket, string Sid, string Viewer, long AckId, string PromptId, string Data, long AtMs);
