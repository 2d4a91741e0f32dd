namespace Gateway.Answers;

/// <summary>Embedded mode: answers are stored in the region's Redis and there is none, so every one is refused as unavailable.</summary>
internal sealed class EmbeddedAnswerSink : IAnswerSink
{
    public static readonly EmbeddedAnswerSink Instance = new();

    public bool Stores => false;

    public int Pending => 0;

    public bool TryAccept(PendingAnswer answer, out AnswerRefusal refusal)
    {
        refusal = AnswerRefusal.Unavailable;
        return false;
    }

    public Task<Dictionary<string, Dictionary<string, long>>?> ReadTallyAsync(IReadOnlyList<string> promptIds, CancellationToken cancellationToken) =>
        Task.FromResult<Dictionary<string, Dictionary<string, long>>?>(null);
}
