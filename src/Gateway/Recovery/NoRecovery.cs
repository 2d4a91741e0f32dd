using Gateway.Prompts;

namespace Gateway.Recovery;

/// <summary>Embedded mode: recovery is not offered (CONNECT replies carry no pid); nothing is recorded.</summary>
internal sealed class NoRecovery : IRecovery
{
    public static readonly NoRecovery Instance = new();

    public bool Offered => false;

    public string IssuePid(string sid, string namespaceName, StreamPosition joined) =>
        throw new InvalidOperationException("recovery is not offered");

    public void SaveSession(string pid, string sid, string namespaceName, StreamPosition joined, ReadOnlySpan<string> channels)
    {
    }

    public void SaveChannels(string pid, ReadOnlySpan<string> channels)
    {
    }

    public bool TryRequest(RecoveryRequest request) => false;

    public void Flush()
    {
    }
}
