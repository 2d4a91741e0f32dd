using Gateway.Answers;

namespace Gateway.Tests.Answers;

public sealed class EmbeddedAnswerSinkTests
{
    private sealed class NeverCalled : IAnswerAcknowledger
    {
        public void CompleteAnswer(PendingAnswer answer, AnswerRefusal refusal) => throw new InvalidOperationException("an embedded sink acks nothing later");
    }

    [Fact]
    public void TryAccept_Always_RefusesAsUnavailableAtOnce()
    {
        IAnswerSink sink = EmbeddedAnswerSink.Instance;
        var answer = new PendingAnswer(new NeverCalled(), new object(), "sid", "sid", 3, "q-1", "{\"promptId\":\"q-1\"}", 0);

        Assert.False(sink.TryAccept(answer, out AnswerRefusal refusal));
        Assert.Equal(AnswerRefusal.Unavailable, refusal);
        Assert.Equal(0, sink.Pending);
    }

    [Fact]
    public void Stores_IsFalse_SoSocketsRefuseBeforeTheirOwnChecks() => Assert.False(EmbeddedAnswerSink.Instance.Stores);
}
