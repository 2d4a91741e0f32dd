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

    public PromptEventsTests()
    {
        var options = new GatewayOptions { FanOutWorkers = 1, RingCapacity = 16 };
        options.Normalize();
        _context = new BroadcastContext(Options.Create(options), NullLoggerFactory.Instance);
        _prompts = new EmbeddedPromptSource(_context.Broadcaster);
    }

    public void Dispose() => _context.Dispose();

    private PromptEvents Events(int maxChannels = 4, IAnswerSink? answers = null) =>
        new(new GatewayOptions { MaxChannelsPerSocket = maxChannels }, _channels, _context.ChannelMembers, _prompts, answers ?? EmbeddedAnswerSink.Instance, NoRecovery.Instance, _metrics, _time);

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

        public void SendCurrentPrompts(NamespaceSocket socket, List<int> channelIds) => Sent.Add($"current prompts of {channelIds.Count} channels");

        public void CompleteAnswer(PendingAnswer answer, AnswerRefusal refusal) => Sent.Add($"completed {answer.PromptId}: {refusal}");
    }
}
