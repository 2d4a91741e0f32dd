using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Answers;
using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.Protocol.Buffers;
using Gateway.Protocol.SocketIO;
using Gateway.Prompts;
using Gateway.Recovery;
using Gateway.SocketIO;

namespace Gateway.Events;

/// <summary>
/// The events of the prompt application: <c>time</c> (the server's clock, for the viewer's offset),
/// <c>subscribe</c> / <c>unsubscribe</c> (channels), <c>answer</c> (to the answer sink, acked with its verdict).
/// </summary>
internal sealed class PromptEvents(GatewayOptions options, ChannelMembership channels, IPromptSource prompts, IAnswerSink answers, IRecovery recovery, GatewayMetrics metrics, TimeProvider time, PendingReveals reveals)
{
    /// <summary>The (viewer, prompt) pairs answered through this gateway.</summary>
    public AnsweredPrompts Answered { get; } = new(options.Answers.RememberedLocally);

    /// <summary>Handles the event if it is one of these; false when the name is not.</summary>
    public bool TryHandle(ISocketReplies replies, NamespaceSocket socket, in SocketIOPacket packet, ReadOnlySpan<byte> name)
    {
        if (name.SequenceEqual("time"u8))
        {
            OnTime(replies, packet);
        }
        else if (name.SequenceEqual("subscribe"u8) || name.SequenceEqual("unsubscribe"u8))
        {
            OnSubscription(replies, socket, packet, subscribe: name[0] == (byte)'s');
        }
        else if (name.SequenceEqual("answer"u8))
        {
            OnAnswer(replies, socket, packet);
        }
        else
        {
            return false;
        }

        return true;
    }

    // time → ack [{"now": <unix ms>}]
    private void OnTime(ISocketReplies replies, in SocketIOPacket packet)
    {
        if (!packet.HasAckId)
        {
            return;
        }

        PooledBufferWriter scratch = PacketScratch.Get();
        SocketIOPacketWriter.WriteHeader(scratch, SocketIOPacketType.Ack, packet.Namespace, packet.AckId);
        scratch.WriteBytes("[{\"now\":"u8);
        scratch.WriteInt64(time.GetUtcNow().ToUnixTimeMilliseconds());
        scratch.WriteBytes("}]"u8);
        replies.Send(scratch.WrittenSpan);
    }

    // ---- Channels ---------------------------------------------------------------------------------------------------

    // subscribe / unsubscribe: one channel name or an array; ack [{"ok":true,"channels":[…]}] or [{"ok":false,"error":…}].
    // A subscribe is all or nothing: a refused one leaves the socket's channels as they were.
    private void OnSubscription(ISocketReplies replies, NamespaceSocket socket, in SocketIOPacket packet, bool subscribe)
    {
        var reader = new Utf8JsonReader(packet.Payload);
        reader.Read(); // [
        reader.Read(); // "subscribe"
        ChannelRefusal refusal = ChannelRefusal.None;
        List<long>? joined = null;
        if (!reader.Read() || !ChannelList.TryRead(ref reader, out List<string>? names) || names is null)
        {
            refusal = channels.Refuse(ChannelRefusal.InvalidName);
        }
        else
        {
            if (subscribe)
            {
                joined = [];
                refusal = channels.Join(socket, names, joined);
            }
            else
            {
                channels.Leave(socket, names);
            }

            if (refusal == ChannelRefusal.None && recovery.Offered && socket.Pid is not null)
            {
                // A crash writes no session record: keep what the auth payload does not say where a recovery finds it.
                recovery.SaveChannels(socket.Pid, socket.ChannelNames);
            }
        }

        if (packet.HasAckId)
        {
            WriteSubscriptionAck(replies, socket, packet, refusal == ChannelRefusal.None ? null : refusal.AckText());
        }

        if (joined is { Count: > 0 })
        {
            // After the ack: the client knows it is subscribed before the channel's current prompt arrives.
            replies.SendCurrentPrompts(socket, joined);
        }
    }

    private static void WriteSubscriptionAck(ISocketReplies replies, NamespaceSocket socket, in SocketIOPacket packet, string? error)
    {
        PooledBufferWriter scratch = PacketScratch.Get();
        SocketIOPacketWriter.WriteHeader(scratch, SocketIOPacketType.Ack, packet.Namespace, packet.AckId);
        using (var json = new Utf8JsonWriter((IBufferWriter<byte>)scratch))
        {
            json.WriteStartArray();
            json.WriteStartObject();
            if (error is null)
            {
                json.WriteBoolean("ok", true);
                json.WriteStartArray("channels");
                foreach (string name in socket.ChannelNames)
                {
                    json.WriteStringValue(name);
                }

                json.WriteEndArray();
            }
            else
            {
                json.WriteBoolean("ok", false);
                json.WriteString("error", error);
            }

            json.WriteEndObject();
            json.WriteEndArray();
        }

        replies.Send(scratch.WrittenSpan);
    }

    // ---- Answers ----------------------------------------------------------------------------------------------------

    /// <summary>
    /// <c>answer</c>: one argument, an object with <c>promptId</c>. Goes to the answer sink; the ack says whether it
    /// was stored (<c>{"ok":true}</c>, sent by the session when the sink completes) or why not.
    /// </summary>
    private void OnAnswer(ISocketReplies replies, NamespaceSocket socket, in SocketIOPacket packet)
    {
        AnswerRefusal refusal = TryReadAnswer(packet.Payload, out string? promptId, out string? data);
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (refusal == AnswerRefusal.None && reveals.IsEarly(promptId!, now))
        {
            refusal = AnswerRefusal.TooEarly; // before the socket's own checks: a refused early answer is not its answer
        }

        if (refusal == AnswerRefusal.None && !answers.Stores)
        {
            refusal = AnswerRefusal.Unavailable; // nowhere to store it: refused before the socket's own checks
        }

        if (refusal == AnswerRefusal.None && prompts.AnswerWindows.IsClosed(promptId!, now))
        {
            refusal = AnswerRefusal.Closed;
        }

        string viewer = socket.ViewerId;
        if (refusal == AnswerRefusal.None && !Answered.TryRecord(viewer, promptId!))
        {
            refusal = AnswerRefusal.Duplicate; // answered through this gateway already: no round trip
        }
        else if (refusal == AnswerRefusal.None)
        {
            refusal = socket.TryAnswer(options.Answers.PerSocketPerSecond, now);
            if (refusal == AnswerRefusal.None)
            {
                var answer = new PendingAnswer(replies, socket, socket.Id, viewer, packet.HasAckId ? packet.AckId : -1, promptId!, data!, now);
                if (answers.TryAccept(answer, out refusal))
                {
                    return; // acked when the sink completes it (IAnswerAcknowledger.CompleteAnswer)
                }
            }

            Answered.Forget(viewer, promptId!);
        }

        metrics.AnswerRefused();
        if (packet.HasAckId)
        {
            PooledBufferWriter scratch = PacketScratch.Get();
            AnswerAck.Write(scratch, packet.Namespace, packet.AckId, refusal);
            replies.Send(scratch.WrittenSpan);
        }
    }

    /// <summary>Reads <c>["answer", {…, "promptId": …}]</c>: the prompt id and the object's raw JSON.</summary>
    internal static AnswerRefusal TryReadAnswer(ReadOnlySpan<byte> payload, out string? promptId, out string? data)
    {
        promptId = null;
        data = null;
        try
        {
            var reader = new Utf8JsonReader(payload);
            reader.Read(); // [
            reader.Read(); // "answer"
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return AnswerRefusal.InvalidAnswerNotAnObject;
            }

            int start = (int)reader.TokenStartIndex;
            int depth = reader.CurrentDepth;
            while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 1 && reader.ValueTextEquals("promptId"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length is > 0 and <= Streams.PromptEntry.MaxIdLength)
                    {
                        promptId = reader.GetString();
                    }
                    else if (reader.TokenType == JsonTokenType.Number)
                    {
                        promptId = Encoding.UTF8.GetString(reader.ValueSpan);
                    }

                    continue;
                }

                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }
            }

            data = Encoding.UTF8.GetString(payload[start..(int)reader.BytesConsumed]);
            if (!reader.Read() || reader.TokenType != JsonTokenType.EndArray)
            {
                return AnswerRefusal.InvalidAnswerOneArgumentExpected;
            }

            return promptId is null ? AnswerRefusal.InvalidAnswerPromptIdRequired : AnswerRefusal.None;
        }
        catch (JsonException)
        {
            return AnswerRefusal.InvalidAnswer;
        }
    }
}
