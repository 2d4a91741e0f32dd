using System.Reflection;

namespace Gateway.Tests.EndToEnd;

/// <summary>Locates the repository, tests/node (with its node_modules) and the gateway's build output.</summary>
public static class TestPaths
{
    private static string? Metadata(string key) =>
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == key)?.Value;

    public static string RepoRoot
    {
        get
        {
            string? fromBuild = Metadata("RepoRoot");
            if (fromBuild is not null && File.Exists(Path.Combine(fromBuild, "tests", "node", "package.json")))
            {
                return Path.GetFullPath(fromBuild);
            }

            for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "tests", "node", "package.json")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException(
                $"Cannot find the repository root (a folder with tests/node/package.json) above {AppContext.BaseDirectory}.");
        }
    }

    public static string NodeDir => Path.Combine(RepoRoot, "tests", "node");

    /// <summary>tests/node, after checking that its npm packages are installed.</summary>
    public static string NodeDirWithPackages()
    {
        string dir = NodeDir;
        foreach (string package in new[] { "socket.io", "socket.io-client" })
        {
            if (!File.Exists(Path.Combine(dir, "node_modules", package, "package.json")))
            {
                throw new InvalidOperationException(
                    $"The end-to-end tests need the npm packages of tests/node, and {Path.Combine(dir, "node_modules", package)} is missing. " +
                    $"Run `npm ci --prefix tests/node` in {RepoRoot} first.");
            }
        }

        return dir;
    }

    public static string GatewayDll
    {
        get
        {
            string? path = Metadata("GatewayDll");
            if (path is not null && File.Exists(path))
            {
                return path;
            }

            foreach (string configuration in new[] { "Release", "Debug" })
            {
                string candidate = Path.Combine(RepoRoot, "src", "Gateway", "bin", configuration, "net10.0", "Gateway.dll");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new InvalidOperationException(
                $"Gateway.dll not found (expected {path ?? "src/Gateway/bin/<Configuration>/net10.0/Gateway.dll"}). Build src/Gateway first.");
        }
    }
}
