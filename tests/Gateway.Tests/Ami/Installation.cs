using Gateway.Tests.EndToEnd;

namespace Gateway.Tests.Ami;

/// <summary>
/// <c>ami/install.sh --root &lt;tmp&gt;</c>, as Packer runs it with <c>--root /</c> on the image, from the
/// framework-dependent build of src/Gateway (the self-contained publish of <c>ami/build</c> takes minutes and a
/// runtime-pack download; the installed files and the unit are the same). Deleted on dispose.
/// </summary>
public sealed class Installation : IDisposable
{
    private Installation(string root, string output)
    {
        Root = root;
        Output = output;
    }

    public static string AmiDir => Path.Combine(TestPaths.RepoRoot, "ami");

    public string Root { get; }

    /// <summary>What install.sh printed.</summary>
    public string Output { get; }

    public static async Task<Installation> CreateAsync()
    {
        string root = Directory.CreateTempSubdirectory("gateway-ami-root-").FullName;
        // A root with account files, as the image has: install.sh adds the system user to them (useradd --root).
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        File.WriteAllText(Path.Combine(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        File.WriteAllText(Path.Combine(root, "etc", "group"), "root:x:0:\n");
        File.WriteAllText(Path.Combine(root, "etc", "shadow"), "root:*:20000:0:99999:7:::\n");
        File.WriteAllText(Path.Combine(root, "etc", "gshadow"), "root:*::\n");
        string from = Path.GetDirectoryName(TestPaths.GatewayDll)!;
        CommandResult run = await CommandLine.RunAsync("bash", [Path.Combine(AmiDir, "install.sh"), "--root", root, "--from", from]);
        if (run.ExitCode != 0)
        {
            Directory.Delete(root, recursive: true);
            throw new InvalidOperationException("ami/install.sh failed: " + run.Describe());
        }

        return new Installation(root, run.Stdout);
    }

    /// <summary>Where an absolute path of the installed system is in the staging root.</summary>
    public string PathOf(string absolute) => Path.Combine(Root, absolute.TrimStart('/'));

    public UnitFile Unit => UnitFile.Parse(File.ReadAllText(PathOf("/etc/systemd/system/gateway.service")));

    /// <summary>What the user data does at first boot: the region's gateway.env, from the installed example.</summary>
    public void WriteEnvironmentFile(params string[] extraLines)
    {
        string example = File.ReadAllText(PathOf("/etc/gateway/gateway.env.example"));
        File.WriteAllText(PathOf("/etc/gateway/gateway.env"), example + string.Join("\n", extraLines) + "\n");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
