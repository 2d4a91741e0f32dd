using System.Text.Json;

namespace Gateway.Prompts;

/// <summary>
/// A prompt the admin API was asked to publish, already checked for shape: a configured namespace, a non-empty
/// event name, <paramref name="Data"/> a JSON array (the event's arguments). <paramref name="Data"/> lives as long
/// as the request's document: a source copies what it keeps. <paramref name="SendAheadMs"/>: this prompt's send-ahead,
/// null for <c>Gateway:Reveal:SendAhead</c>. <paramref name="AnswerUntilMs"/>: the end of its answer window, null = none.
/// </summary>
internal readonly record struct PublishRequest(int NamespaceIndex, string Namespace, string? Channel, string Event, JsonElement Data, string? Id, long? RevealAtMs, long? SendAheadMs = null, long? AnswerUntilMs = null);
