using System.Text.RegularExpressions;
using Gateway.Tests.EndToEnd;

namespace Gateway.Tests;

/// <summary>
/// The gateway's layers look down only, and Redis stays behind its ports. Read from the sources: namespace = folder,
/// so what a file names of the gateway is what its <c>using</c> directives and qualified names say.
/// </summary>
public partial class DependencyRulesTests
{
    /// <summary>
    /// Each folder of src/Gateway and its rank: a folder may name folders of a lower rank or its own, never a higher
    /// one. The transport drives Engine.IO sessions; a session's Socket.IO dispatch hands events to the application's
    /// handlers (Events/), which work on a namespace socket's state (SocketIO/) and reach the rest through the ports
    /// and the broadcast layer. Every outbound byte goes through a connection's ConnectionOutput (Output/), which knows
    /// nothing but its pipe. Redis/ is an adapter beside the core (it implements the ports); only Hosting/, the
    /// composition root, sits above everything.
    /// </summary>
    private static readonly Dictionary<string, int> s_ranks = new()
    {
        ["Configuration"] = 0,
        ["Diagnostics"] = 0,
        ["Output"] = 0,
        ["Time"] = 0,
        ["Broadcast"] = 1,
        ["Prompts"] = 2,
        ["Recovery"] = 2,
        ["Answers"] = 2,
        ["Identity"] = 2,
        ["Census"] = 2,
        ["Region"] = 2,
        ["SocketIO"] = 3,
        ["Events"] = 4,
        ["EngineIO"] = 5,
        ["Transport"] = 6,
        ["Admin"] = 7,
        ["Redis"] = 7,
        ["Hosting"] = 8,
    };

    private static string GatewaySources => Path.Combine(TestPaths.RepoRoot, "src", "Gateway");

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.EnumerateFiles(GatewaySources, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(GatewaySources, file);
            if (!relative.StartsWith("bin", StringComparison.Ordinal) && !relative.StartsWith("obj", StringComparison.Ordinal))
            {
                data.Add(relative.Replace('\\', '/'));
            }
        }

        return data;
    }

    [Fact]
    public void EveryFolder_HasARank()
    {
        string[] folders = Directory.GetDirectories(GatewaySources)
            .Select(Path.GetFileName)
            .Where(name => name is not ("bin" or "obj" or "Properties"))
            .Select(name => name!)
            .ToArray();
        Assert.All(folders, folder => Assert.True(s_ranks.ContainsKey(folder), $"src/Gateway/{folder} has no rank"));
        Assert.Empty(Directory.GetFiles(GatewaySources, "*.cs")); // every source file sits in a layer's folder
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void File_NamesNoHigherLayer(string file)
    {
        string folder = file.Split('/')[0];
        int rank = s_ranks[folder];
        string[] higher = NamedByFile(file)
            .Where(named => s_ranks.TryGetValue(named, out int namedRank) && namedRank > rank)
            .Select(named => $"Gateway.{named} (rank {s_ranks[named]})")
            .ToArray();
        Assert.True(higher.Length == 0, $"{file} ({folder}, rank {rank}) names {string.Join(", ", higher)}");
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void File_OutsideRedisAndHosting_NamesNoRedis(string file)
    {
        string folder = file.Split('/')[0];
        if (folder is "Redis" or "Hosting")
        {
            return;
        }

        string code = Code(file);
        Assert.DoesNotMatch(RedisReference(), code);
        Assert.DoesNotContain("Redis", NamedByFile(file));
    }

    [Fact]
    public void TheRules_CatchAViolation()
    {
        // The checks above read what these helpers return: prove they see a higher layer and Redis when present.
        Assert.Contains("Transport", NamedIn("using Gateway.Transport;\nnamespace Gateway.Broadcast;"));
        Assert.Contains("EngineIO", NamedIn("namespace Gateway.Time;\nclass A { Gateway.EngineIO.EngineSession? s; }"));
        Assert.Contains("EngineIO", NamedIn("namespace Gateway.Time;\nclass A { EngineIO.EngineSession? s; }"));
        Assert.DoesNotContain("EngineIO", NamedIn("namespace Gateway.Time;\n// see Gateway.EngineIO.EngineSession\n"));
        Assert.DoesNotContain("Redis", NamedIn("namespace Gateway.Time;\nclass A { string c = \"Gateway.Redis\"; }"));
        Assert.Matches(RedisReference(), "using StackExchange.Redis;");
        Assert.Matches(RedisReference(), "class A { StackExchange.Redis.IDatabase? d; }");
    }

    private static string Code(string file) => StripComments(File.ReadAllText(Path.Combine(GatewaySources, file)));

    private static HashSet<string> NamedByFile(string file) => NamedIn(Code(file));

    private static HashSet<string> NamedIn(string code)
    {
        code = StripComments(code);
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match match in GatewayReference().Matches(code))
        {
            named.Add(match.Groups[1].Value);
        }

        // Inside namespace Gateway.X, "Redis.Region" names Gateway.Redis.Region: a folder's name followed by a type
        // declared in that folder.
        foreach (Match match in PartlyQualifiedReference().Matches(code))
        {
            string folder = match.Groups[1].Value;
            if (s_declaredTypes.Value.TryGetValue(folder, out HashSet<string>? types) && types.Contains(match.Groups[2].Value))
            {
                named.Add(folder);
            }
        }

        return named;
    }

    /// <summary>The types each folder declares (any nesting), by simple name.</summary>
    private static readonly Lazy<Dictionary<string, HashSet<string>>> s_declaredTypes = new(() =>
    {
        var declared = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (string folder in s_ranks.Keys)
        {
            var types = new HashSet<string>(StringComparer.Ordinal);
            string path = Path.Combine(GatewaySources, folder);
            if (Directory.Exists(path))
            {
                foreach (string file in Directory.EnumerateFiles(path, "*.cs", SearchOption.AllDirectories))
                {
                    foreach (Match match in TypeDeclaration().Matches(File.ReadAllText(file)))
                    {
                        types.Add(match.Groups[1].Value);
                    }
                }
            }

            declared[folder] = types;
        }

        return declared;
    });

    // Comments (and so doc comments' prose) and string literals (log categories) do not count; a cref needs a using,
    // which does.
    private static string StripComments(string code) =>
        StringLiteral().Replace(LineComment().Replace(BlockComment().Replace(code, ""), ""), "\"\"");

    [GeneratedRegex(@"(?<![\w.])(?:global::)?Gateway\.(\w+)\b")]
    private static partial Regex GatewayReference();

    [GeneratedRegex(@"(?<![\w.])([A-Z]\w*)\.([A-Z]\w*)")]
    private static partial Regex PartlyQualifiedReference();

    [GeneratedRegex(@"\b(?:class|struct|interface|enum|record)\s+([A-Z]\w*)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"""(?:\\.|[^""\\\n])*""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"(?<![\w.])(?:global::)?StackExchange\.Redis\b")]
    private static partial Regex RedisReference();

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex BlockComment();
}
