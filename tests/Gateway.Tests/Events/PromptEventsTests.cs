using System.Text;
using Gateway.Answers;
using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.Events;
using Gateway.Protocol.SocketIO;
using Gateway.Recovery;
using Gateway.SocketIO;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Events;

/// <summary>The prompt application's events in process: a real handler, a recording session.</summary>
public class PromptEventsTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds(1_765_000_000_000));
    private readonly ChannelRegistry _channels = new();
    private readonly GatewayMetrics _metrics = new(["/"]);
    private readonly Replies _replies = new();
    private readonly NamespaceSocket _socket = new(0, "socket-1", auth: null, joinedAt: 0);

    private readonly PendingReveals _reveals = new();

    private PromptEvents Events(int maxChannels = 4, IAnswerSink? answers = null) =>
        Events(new GatewayOptions { MaxChannelsPerSocket = maxChannels }, answers);

    private PromptEvents Events(GatewayOptions options, IAnswerSink? answers = null) =>
        new(options, new ChannelMembership(options, _channels, _metrics), answers ?? EmbeddedAnswerSink.Instance, NoRecovery.Instance, _metrics, _time, _reveals);

    [Fact]
    public void Time_WithAckId_AcksTheInjectedClock()
    {
        Handle(Events(), "21[\"time\"]");
        Assert.Equal(["31[{\"now\":1765000000000}]"], _replies.Sent);
    }

    [Fact]
    public void Subscribe_Channels_AcksTheSocketsChannelsAndSendsTheirCurrentPromptsAfterTheAck()
    {
        Handle(Events(), "22[\"subscribe\",[\"a\",\"b\"]]");

        Assert.Equal(["32[{\"ok\":true,\"channels\":[\"a\",\"b\"]}]", "current prompts of 2 channels"], _replies.Sent);
        Assert.True(_socket.HasChannel(_channels.Find("a")));
    }

    [Fact]
    public void Subscribe_OverTheLimit_RefusesAllOrNothing()
    {
        PromptEvents events = Events(maxChannels: 2);
        Handle(events, "2[\"subscribe\",\"a\"]");
        Handle(events, "23[\"subscribe\",[\"b\",\"c\"]]");

        Assert.Equal(["33[{\"ok\":false,\"error\":\"too many channels\"}]"], _replies.Sent.Where(s => s.StartsWith('3')));
        Assert.Equal(["a"], _socket.ChannelNames.ToArray());
    }

    [Fact]
    public void Subscribe_NotAChannelList_AnswersInvalidChannel()
    {
        Handle(Events(), "24[\"subscribe\",42]");
        Assert.Equal(["34[{\"ok\":false,\"error\":\"invalid channel\"}]"], _replies.Sent);
    }

    [Fact]
    public void Subscribe_MoreNewNamesThanNewPerSocket_RefusedAndCounted_ExistingNamesStillJoin()
    {
        var options = new GatewayOptions { MaxChannelsPerSocket = 8, Channels = { NewPerSocket = 2 } };
        PromptEvents events = Events(options);
        Handle(events, "21[\"subscribe\",[\"n1\",\"n2\"]]");
        Handle(events, "22[\"unsubscribe\",[\"n1\",\"n2\"]]");
        // Its budget is spent: a third new name is refused, though it holds none now (churn cannot refill it)...
        Handle(events, "23[\"subscribe\",\"n3\"]");
        Assert.Equal("33[{\"ok\":false,\"error\":\"too many new channels\"}]", _replies.Sent[^1]);
        Assert.Equal(1, _metrics.ChannelsRefused((int)ChannelRefusal.NewPerSocket));
        Assert.Equal(0, _channels.Count);

        // ...while a name another socket brought in costs nothing.
        var other = new NamespaceSocket(0, "socket-2", auth: null, joinedAt: 0);
        Assert.Equal(ChannelRefusal.None, new ChannelMembership(options, _channels, _metrics).Join(other, ["shared"], joined: null));
        Handle(events, "24[\"subscribe\",\"shared\"]");
        Assert.Equal("34[{\"ok\":true,\"channels\":[\"shared\"]}]", _replies.Sent[^2]);
    }

    [Fact]
    public void Subscribe_NameThatCannotBeAChannel_AnswersInvalidChannelAndCounts()
    {
        Handle(Events(), "21[\"subscribe\",[\"ok\",\"" + new string('x', ChannelRegistry.MaxNameLength + 1) + "\"]]");
        Assert.Equal(["31[{\"ok\":false,\"error\":\"invalid channel\"}]"], _replies.Sent);
        Assert.Empty(_socket.ChannelNames.ToArray());
        Assert.Equal(1, _metrics.ChannelsRefused((int)ChannelRefusal.InvalidName));
    }

    [Fact]
    public void Unsubscribe_LastMemberLeaves_TheNameIsFreed()
    {
        PromptEvents events = Events();
        Handle(events, "2[\"subscribe\",[\"a\",\"b\"]]");
        Assert.Equal(2, _channels.Count);
        Handle(events, "2[\"unsubscribe\",\"a\"]");
        Assert.Equal(1, _channels.Count);
        Assert.Equal(ChannelRegistry.NoMembers, _channels.Find("a"));
        new ChannelMembership(new GatewayOptions(), _channels, _metrics).LeaveAll(_socket);
        Assert.Equal(0, _channels.Count);
    }

    [Fact]
    public void Unsubscribe_LeavesTheChannel()
    {
        PromptEvents events = Events();
        Handle(events, "2[\"subscribe\",[\"a\",\"b\"]]");
        Handle(events, "25[\"unsubscribe\",\"a\"]");
        Assert.Equal("35[{\"ok\":true,\"channels\":[\"b\"]}]", _replies.Sent[^1]);
    }

    [Fact]
    public void Answer_EmbeddedMode_RefusedUnavailableAndCounted()
    {
        Handle(Events(), "26[\"answer\",{\"promptId\":\"p1\",\"choice\":2}]");
        Assert.Equal(["36[{\"ok\":false,\"error\":\"unavailable\"}]"], _replies.Sent);
        Assert.Equal(1, _metrics.AnswersRefused);
    }

    [Fact]
    public void Answer_BeforeTheReveal_RefusedTooEarlyThenAcceptedOnceRevealed()
    {
        var sink = new AcceptingSink();
        PromptEvents events = Events(answers: sink);
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        _reveals.Add("p1", now + 2000, now);

        Handle(events, "26[\"answer\",{\"promptId\":\"p1\",\"choice\":2}]");
        _time.Advance(TimeSpan.FromMilliseconds(1999));
        Handle(events, "27[\"answer\",{\"promptId\":\"p1\",\"choice\":2}]");
        _time.Advance(TimeSpan.FromMilliseconds(1)); // the reveal instant itself
        Handle(events, "28[\"answer\",{\"promptId\":\"p1\",\"choice\":2}]");

        // The early ones were not this socket's answer: the one at the reveal is not a duplicate.
        Assert.Equal(["36[{\"ok\":false,\"error\":\"too early\"}]", "37[{\"ok\":false,\"error\":\"too early\"}]"], _replies.Sent);
        Assert.Equal(["p1"], sink.Accepted.Select(a => a.PromptId));
        Assert.Equal(2, _metrics.AnswersRefused);
    }

    [Fact]
    public void Answer_AnotherPromptWhileOneWaitsForItsReveal_IsNotRefusedTooEarly()
    {
        var sink = new AcceptingSink();
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        _reveals.Add("p1", now + 2000, now);

        Handle(Events(answers: sink), "26[\"answer\",{\"promptId\":\"p2\"}]");

        Assert.Empty(_replies.Sent);
        Assert.Equal(["p2"], sink.Accepted.Select(a => a.PromptId));
    }

    [Theory]
    [InlineData("[\"answer\",{\"promptId\":\"p1\",\"x\":[1,{\"promptId\":\"nested\"}]}]", nameof(AnswerRefusal.None), "p1")]
    [InlineData("[\"answer\",{\"promptId\":7}]", nameof(AnswerRefusal.None), "7")]
    [InlineData("[\"answer\",\"p1\"]", nameof(AnswerRefusal.InvalidAnswerNotAnObject), null)]
    [InlineData("[\"answer\",{\"promptId\":\"p1\"},2]", nameof(AnswerRefusal.InvalidAnswerOneArgumentExpected), "p1")]
    [InlineData("[\"answer\",{\"id\":\"p1\"}]", nameof(AnswerRefusal.InvalidAnswerPromptIdRequired), null)]
    [InlineData("[\"answer\",{\"promptId\":\"\"}]", nameof(AnswerRefusal.InvalidAnswerPromptIdRequired), null)]
    [InlineData("[\"answer\",{\"promptId\":", nameof(AnswerRefusal.InvalidAnswer), null)]
    public void TryReadAnswer_Payload_GivesTheRefusalAndPromptId(string payload, string expected, string? promptId)
    {
        Assert.Equal(expected, PromptEvents.TryReadAnswer(Encoding.UTF8.GetBytes(payload), out string? id, out _).ToString());
        Assert.Equal(promptId, id);
    }

    [Fact]
    public void TryHandle_AnotherEvent_IsNotHandled()
    {
        Assert.False(Events().TryHandle(_replies, _socket, Parse("2[\"echo\"]", out _), "echo"u8));
        Assert.Empty(_replies.Sent);
    }

    private void Handle(PromptEvents events, string packet)
    {
        SocketIOPacket parsed = Parse(packet, out byte[] name);
        Assert.True(events.TryHandle(_replies, _socket, parsed, name));
    }

    private static SocketIOPacket Parse(string packet, out byte[] name)
    {
        Assert.Equal(Protocol.ProtocolError.None, SocketIOPacketParser.TryParse(Encoding.UTF8.GetBytes(packet), out SocketIOPacket parsed));
        name = parsed.EventName.ToArray();
        return parsed;
    }

    private sealed class Replies : ISocketReplies
    {
        public List<string> Sent { get; } = [];

        public void Send(ReadOnlySpan<byte> socketIOPacket, List<byte[]>? attachments = null) => Sent.Add(Encoding.UTF8.GetString(socketIOPacket));

        public void SendCurrentPrompts(NamespaceSocket socket, List<long> channelIds) => Sent.Add($"current prompts of {channelIds.Count} channels");

        public void CompleteAnswer(PendingAnswer answer, AnswerRefusal refusal) => Sent.Add($"completed {answer.PromptId}: {refusal}");
    }

    /// <summary>A sink that takes every answer and keeps it (acks are not under test here).</summary>
    private sealed class AcceptingSink : IAnswerSink
    {
        public List<PendingAnswer> Accepted { get; } = [];

        public bool Stores => true;

        public int Pending => Accepted.Count;

        public bool TryAccept(PendingAnswer answer, out AnswerRefusal refusal)
        {
            Accepted.Add(answer);
            refusal = AnswerRefusal.None;
            return true;
        }
    }
}
