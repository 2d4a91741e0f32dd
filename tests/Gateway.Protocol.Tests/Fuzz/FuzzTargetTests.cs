using CsCheck;
using Gateway.Fuzz;

namespace Gateway.Protocol.Tests.Fuzz;

/// <summary>
/// The fuzz harness's entry points (tests/fuzz) in the suite: over the seed corpus through the harness's own command
/// line, and over 200,000 generated inputs per parser (1,000,000 in all), bounded by count. An entry point throws only
/// when a codec breaks an invariant: an exception, a span or a length past the input, a split read disagreeing with a
/// whole one, a parsed value that does not write back to itself.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class FuzzTargetTests
{
    public const long InputsPerParser = 200_000;

    public static TheoryData<string> Targets => [.. FuzzTargets.All.Select(t => t.Name)];

    [Fact]
    public void Harness_SeedThenReplay_RunsEveryTargetOverItsSeeds()
    {
        string directory = Path.Combine(Path.GetTempPath(), "gateway-fuzz-seeds-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            Assert.Equal(0, FuzzHarness.Main(["seed", directory]));
            foreach ((string name, _) in FuzzTargets.All)
            {
                Assert.Equal(Seeds.For(name).Count, Directory.GetFiles(Path.Combine(directory, name)).Length);
                Assert.Equal(0, FuzzHarness.Main([name, Path.Combine(directory, name)]));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Harness_UnknownTarget_PrintsUsage() => Assert.Equal(64, FuzzHarness.Main(["nosuch"]));

    [Theory]
    [MemberData(nameof(Targets))]
    public void Target_GeneratedAndMutatedInputs_NoInvariantBreaks(string name)
    {
        FuzzTarget target = FuzzTargets.Find(name)!;
        FuzzInputs.For(name).Sample(bytes => target(bytes), iter: InputsPerParser, print: Convert.ToHexString);
    }
}
