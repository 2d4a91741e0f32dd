using System.Text;
using Gateway.Answers;
using Gateway.Broadcast;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.Events;
using Gateway.Identity;
using Gateway.Prompts;
using Gateway.Protocol.SocketIO;
using Gateway.Recovery;
using Gateway.SocketIO;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Events;

/// <summary>The prompt application's events in process: a real handler, a recording session.</summary>
public sealed class PromptEventsTests : IDisposable
{
    private const long Now = 1_765_000_000_000;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds(Now));
    private readonly ChannelRegistry _channels = new();
    private readonly GatewayMetrics _metrics = new(["/"]);
    private readonly Replies _replies = new();
    private readonly NamespaceSocket _socket = new(0, "socket-1", auth: null, joinedAt: 0);
    private readonly BroadcastContext _context;
    private readonly EmbeddedPromptSource _prompts;

    private readonly PendingReveals _reveals = new();

    public PromptEventsTests()
    {
        var options = new GatewayOptions { FanOutWorkers = 1, RingCapacity = 16 };
        options.Normalize();
        _context = new BroadcastContext(Options.Create(options), NullLoggerFactory.Instance);
        _prompts = new EmbeddedPromptSource(_context, _time);
    }

    public void Dispose()
    {
        _prompts.Dispose();
        _context.Dispose();
    }

    private PromptEvents Events(int maxChannels = 4, IAnswerSink? answers = null) =>
        Events(new GatewayOptions { MaxChannelsPerSocket = maxChannels }, answers);

    private PromptEvents Events(GatewayOptions options, IAnswerSink? answers = null) =>
        new(options, new ChannelMembership(options, _channels, _metrics), _prompts, answers ?? EmbeddedAnswerSink.Instance, NoRecovery.Instance, _metrics, _time, _reveals);

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

    [Fact]
    public void Subscribe_ChannelTheTokenDoesNotList_RefusedAllOrNothing()
    {
        var socket = new NamespaceSocket(0, "socket-2", auth: null, joinedAt: 0, viewer: new Viewer("viewer-1", ["a", "b"]));
        PromptEvents events = Events();
        Handle(events, "2[\"subscribe\",\"a\"]", socket);
        Handle(events, "27[\"subscribe\",[\"b\",\"c\"]]", socket);

        Assert.Equal("37[{\"ok\":false,\"error\":\"channel not allowed\"}]", _replies.Sent[^1]);
        Assert.Equal(["a"], socket.ChannelNames.ToArray());
    }

    [Fact]
    public void Answer_SameViewerOnTwoSockets_SecondIsDuplicateWithoutReachingTheSink()
    {
        var sink = new AcceptingSink();
        PromptEvents events = Events(answers: sink);
        var viewer = new Viewer("viewer-1", null);
        var tab1 = new NamespaceSocket(0, "socket-a", auth: null, joinedAt: 0, viewer: viewer);
        var tab2 = new NamespaceSocket(0, "socket-b", auth: null, joinedAt: 0, viewer: viewer);

        Handle(events, "21[\"answer\",{\"promptId\":\"p1\"}]", tab1);
        Handle(events, "22[\"answer\",{\"promptId\":\"p1\"}]", tab2);

        PendingAnswer stored = Assert.Single(sink.Accepted);
        Assert.Equal(("viewer-1", "socket-a"), (stored.Viewer, stored.Sid));
        Assert.Equal(["32[{\"ok\":false,\"error\":\"duplicate\"}]"], _replies.Sent);
    }

    [Fact]
    public void Answer_WithoutViewerIdentity_EachSocketIsItsOwnViewer()
    {
        var sink = new AcceptingSink();
        PromptEvents events = Events(answers: sink);

        Handle(events, "21[\"answer\",{\"promptId\":\"p1\"}]", new NamespaceSocket(0, "socket-a", auth: null, joinedAt: 0));
        Handle(events, "22[\"answer\",{\"promptId\":\"p1\"}]", new NamespaceSocket(0, "socket-b", auth: null, joinedAt: 0));

        Assert.Equal(["socket-a", "socket-b"], sink.Accepted.Select(a => a.Viewer));
    }

    [Fact]
    public async Task Answer_AfterThePromptsAnswerUntil_RefusedClosed_AtItStillAccepted()
    {
        var sink = new AcceptingSink();
        PromptEvents events = Events(answers: sink);
        using System.Text.Json.JsonDocument data = System.Text.Json.JsonDocument.Parse("[]");
        await _prompts.PublishAsync(new PublishRequest(0, "/", null, "prompt", data.RootElement, "p1", null, AnswerUntilMs: Now + 1000));

        _time.Advance(TimeSpan.FromMilliseconds(1000));
        Handle(events, "21[\"answer\",{\"promptId\":\"p1\"}]", new NamespaceSocket(0, "socket-a", auth: null, joinedAt: 0));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Handle(events, "22[\"answer\",{\"promptId\":\"p1\"}]", new NamespaceSocket(0, "socket-b", auth: null, joinedAt: 0));

        Assert.Equal(["socket-a"], sink.Accepted.Select(a => a.Viewer));
        Assert.Equal(["32[{\"ok\":false,\"error\":\"closed\"}]"], _replies.Sent);
    }

    [Fact]
    public void Answer_RefusedBySink_MayBeSentAgain()
    {
        var sink = new AcceptingSink { Refuse = AnswerRefusal.Busy };
        PromptEvents events = Events(answers: sink);
        Handle(events, "21[\"answer\",{\"promptId\":\"p1\"}]");
        sink.Refuse = null;
        Handle(events, "22[\"answer\",{\"promptId\":\"p1\"}]");

        Assert.Equal(["31[{\"ok\":false,\"error\":\"busy\"}]"], _replies.Sent);
        Assert.Single(sink.Accepted);
    }

    private void Handle(PromptEvents events, string packet, NamespaceSocket? socket = null)
    {
        SocketIOPacket parsed = Parse(packet, out byte[] name);
        Assert.True(events.TryHandle(_replies, socket ?? _socket, parsed, name));
    }

    /// <summary>A store that takes every answer (or refuses with <see cref="Refuse"/>) and keeps them; completes none.</summary>
    private sealed class AcceptingSink : IAnswerSink
    {
        public List<PendingAnswer> Accepted { get; } = [];

        public AnswerRefusal? Refuse { get; set; }

        public bool Stores => true;

        public int Pending => Accepted.Count;

        public bool TryAccept(PendingAnswer answer, out AnswerRefusal refusal)
        {
            refusal = Refuse ?? AnswerRefusal.None;
            if (Refuse is not null)
            {
                return false;
            }

            Accepted.Add(answer);
            return true;
        }

        public Task<Dictionary<string, Dictionary<string, long>>?> ReadTallyAsync(IReadOnlyList<string> promptIds, CancellationToken cancellationToken) =>
            Task.FromResult<Dictionary<string, Dictionary<string, long>>?>(null);
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
}
