using System.Text.Json;
using Gateway.Tests.EndToEnd;

namespace Gateway.Tests.Ami;

/// <summary>
/// ami/packer with Debian's Packer (1.6.6): <c>packer validate</c> reads gateway.pkr.hcl (amazon-ebs is built into
/// that version, and validation needs no AWS access); plugins.pkr.hcl, whose <c>required_plugins</c> block came with
/// Packer 1.7, is checked by <c>packer fmt -check</c> only. Building the image needs an AWS account.
/// </summary>
public sealed class PackerTemplateTests
{
    private static string PackerDir => Path.Combine(Installation.AmiDir, "packer");

    // No update check against HashiCorp's servers from a test.
    private static readonly Dictionary<string, string?> Offline = new() { ["CHECKPOINT_DISABLE"] = "1" };

    private static string ShowRegions()
    {
        using JsonDocument show = JsonDocument.Parse(File.ReadAllText(Path.Combine(Installation.AmiDir, "regions", "show.json")));
        return JsonSerializer.Serialize(show.RootElement.GetProperty("regions").EnumerateObject().Select(r => r.Name).ToArray());
    }

    private static Task<CommandResult> ValidateAsync(params string[] variables)
    {
        var arguments = new List<string> { "validate", "-var", $"regions={ShowRegions()}", "-var", $"publish_dir={Path.GetDirectoryName(TestPaths.GatewayDll)}" };
        foreach (string variable in variables)
        {
            arguments.Add("-var");
            arguments.Add(variable);
        }

        arguments.Add(Path.Combine(PackerDir, "gateway.pkr.hcl"));
        return CommandLine.RunAsync(CommandLine.Require("packer", "packer"), arguments, environment: Offline);
    }

    [Theory]
    [InlineData("arm64")]
    [InlineData("x64")]
    public async Task Validate_Template_AcceptedForBothArchitecturesAndTheShowsSixRegions(string arch)
    {
        Assert.Equal(6, JsonSerializer.Deserialize<string[]>(ShowRegions())!.Length);

        CommandResult validate = await ValidateAsync($"arch={arch}");

        Assert.True(validate.ExitCode == 0, validate.Describe());
    }

    [Fact]
    public async Task Validate_UnknownArchitecture_Refused()
    {
        CommandResult validate = await ValidateAsync("arch=x86");

        Assert.NotEqual(0, validate.ExitCode);
        Assert.Contains("x64 or arm64", validate.Stdout + validate.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fmt_EveryFile_Canonical()
    {
        CommandResult fmt = await CommandLine.RunAsync(CommandLine.Require("packer", "packer"), ["fmt", "-check", "-diff", PackerDir], environment: Offline);

        Assert.True(fmt.ExitCode == 0, fmt.Describe());
    }
}
