using System.IO.Pipelines;
using Gateway.EngineIO;
using Gateway.Output;

namespace Gateway.Tests.EngineIO;

/// <summary>
/// The WebSocket probing an upgrade, as the session sees it: records <see cref="CloseProbe"/>, and owns the in-memory
/// pipes the session takes over on <c>CompleteUpgrade</c> (read what it sends with <see cref="SessionHarness.ReadFrames"/>).
/// </summary>
internal sealed class FakeUpgradeProbe : IUpgradeProbe
{
    public Pipe Output { get; } = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));

    public Pipe Input { get; } = new(new PipeOptions(useSynchronizationContext: false));

    /// <summary>The close codes of every <see cref="CloseProbe"/> call.</summary>
    public List<ushort> Closes { get; } = [];

    public bool Closed => Closes.Count > 0;

    public void CloseProbe(ushort code) => Closes.Add(code);

    /// <summary>What the transport does on "5": hands its pipes to the session.</summary>
    public bool CompleteUpgrade(EngineSession session) => session.CompleteUpgrade(this, new ConnectionOutput(Output.Writer, owner: null), Input.Reader);
}
