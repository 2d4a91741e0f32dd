using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gateway.Tests.Ami;

/// <summary>
/// The log shipping configuration (ami/fluent-bit). Debian has no fluent-bit package, so <c>fluent-bit --dry-run</c>
/// cannot run here; the configuration is read as fluent-bit reads it (<see cref="FluentBitConfig"/>) and checked, and
/// the prompt-lifecycle routing and the JSON parser are tried on the real gateway's log lines.
/// </summary>
public sealed class FluentBitConfigTests
{
    private static string Dir => Path.Combine(Installation.AmiDir, "fluent-bit");

    /// <summary>The plugin each LOG_OUTPUT selects.</summary>
    public static TheoryData<string, string> Outputs => new() { { "s3", "s3" }, { "firehose", "kinesis_firehose" }, { "forward", "forward" } };

    private static Dictionary<string, string> LogsEnv() =>
        UnitFile.Assignments(File.ReadAllLines(Path.Combine(Installation.AmiDir, "config", "logs.env"))).ToDictionary(a => a.Key, a => a.Value);

    private static (string Field, Regex Pattern, string Tag) LifecycleRule(List<FluentBitSection> sections)
    {
        FluentBitSection rewrite = sections.Single(s => s.Kind == "FILTER" && s.Name == "rewrite_tag");
        string[] rule = rewrite.Get("Rule")!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, rule.Length);
        Assert.Equal("false", rule[3]); // the line moves to its own stream, it is not copied
        return (rule[0].TrimStart('$'), new Regex(rule[1]), rule[2]);
    }

    [Theory]
    [MemberData(nameof(Outputs))]
    public void MainConfig_EachOutput_JournalOfTheUnitBoundedBufferingBothStreamsShipped(string logOutput, string plugin)
    {
        List<FluentBitSection> sections = FluentBitConfig.Load(Path.Combine(Dir, $"main-{logOutput}.conf"));

        FluentBitSection service = sections.Single(s => s.Kind == "SERVICE");
        Assert.NotNull(service.Get("storage.path"));
        Assert.InRange(int.Parse(service.Get("storage.max_chunks_up")!, CultureInfo.InvariantCulture), 1, 256);
        Assert.NotNull(service.Get("storage.backlog.mem_limit"));
        List<FluentBitSection> parsers = FluentBitConfig.Load(Path.Combine(Dir, service.Get("Parsers_File")!));

        FluentBitSection input = sections.Single(s => s.Kind == "INPUT");
        Assert.Equal("systemd", input.Name);
        Assert.Equal("_SYSTEMD_UNIT=gateway.service", input.Get("Systemd_Filter"));
        Assert.True(File.Exists(Path.Combine(Installation.AmiDir, "systemd", "gateway.service")));
        Assert.Equal("filesystem", input.Get("storage.type"));
        Assert.NotNull(input.Get("DB"));

        FluentBitSection parser = sections.Single(s => s.Kind == "FILTER" && s.Name == "parser");
        Assert.Equal("MESSAGE", parser.Get("Key_Name"));
        Assert.Contains(parsers, p => p.Kind == "PARSER" && p.Name == parser.Get("Parser") && p.Get("Format") == "json");
        FluentBitSection rewrite = sections.Single(s => s.Kind == "FILTER" && s.Name == "rewrite_tag");
        Assert.Equal("filesystem", rewrite.Get("Emitter_Storage.type"));
        Assert.NotNull(rewrite.Get("Emitter_Mem_Buf_Limit"));

        // Every output is the selected plugin and has a disk bound.
        List<FluentBitSection> outputs = sections.Where(s => s.Kind == "OUTPUT").ToList();
        Assert.NotEmpty(outputs);
        Assert.All(outputs, o => Assert.Equal(plugin, o.Name));
        Assert.All(outputs, o => Assert.NotNull(o.Get("storage.total_limit_size")));
        // Both streams leave the machine: every line (tag of the input), and the prompt lifecycle lines (the rule's tag).
        string lifecycleTag = LifecycleRule(sections).Tag;
        List<FluentBitSection> logs = outputs.Where(o => FluentBitConfig.Matches(o.Get("Match")!, input.Get("Tag")!)).ToList();
        List<FluentBitSection> prompts = outputs.Where(o => FluentBitConfig.Matches(o.Get("Match")!, lifecycleTag)).ToList();
        Assert.NotEmpty(logs);
        Assert.NotEmpty(prompts);
        if (plugin != "forward")
        {
            // Own stream: its own object prefix / delivery stream (forward keeps the tag for the aggregator to route).
            Assert.Empty(logs.Intersect(prompts));
        }

        // Every ${VARIABLE} is one the user data writes into logs.env.
        Dictionary<string, string> env = LogsEnv();
        foreach (string value in sections.SelectMany(s => s.Entries).Select(e => e.Value))
        {
            foreach (Match variable in Regex.Matches(value, @"\$\{([A-Z_]+)\}"))
            {
                Assert.True(env.ContainsKey(variable.Groups[1].Value), $"${{{variable.Groups[1].Value}}} is not in ami/config/logs.env");
            }
        }
    }

    [Fact]
    public void DropIn_SelectsTheMainFileByLogOutput_ForEveryValueTheStackAllows()
    {
        UnitFile dropIn = UnitFile.Parse(File.ReadAllText(Path.Combine(Dir, "gateway.conf")));
        Assert.Equal("/etc/gateway/logs.env", dropIn.Get("Service.EnvironmentFile"));
        string execStart = dropIn.Get("Service.ExecStart")!;
        Assert.Contains("-c /etc/fluent-bit/gateway/main-${LOG_OUTPUT}.conf", execStart, StringComparison.Ordinal);

        string stack = File.ReadAllText(Path.Combine(Installation.AmiDir, "cloudformation", "gateway.yaml"));
        string[] allowed = Regex.Match(stack, @"LogOutput:\s+Type: String\s+Default: \w+\s+AllowedValues: \[([^\]]+)\]").Groups[1].Value
            .Split(',', StringSplitOptions.TrimEntries);
        Assert.Equal(["s3", "firehose", "forward"], allowed);
        foreach (string value in allowed.Append(LogsEnv()["LOG_OUTPUT"]))
        {
            Assert.True(File.Exists(Path.Combine(Dir, $"main-{value}.conf")), $"LOG_OUTPUT={value} has no main-{value}.conf");
        }
    }

    [Fact]
    public async Task RealGatewayLines_ParsedAsJsonAndRoutedByCategory()
    {
        List<FluentBitSection> sections = FluentBitConfig.Load(Path.Combine(Dir, "main-s3.conf"));
        (string field, Regex pattern, string tag) = LifecycleRule(sections);
        FluentBitSection parser = FluentBitConfig.Load(Path.Combine(Dir, "parsers.conf")).Single();

        using Installation installation = await Installation.CreateAsync();
        installation.WriteEnvironmentFile();
        string[] lines;
        await using (InstalledGateway gateway = InstalledGateway.Start(installation))
        {
            Assert.Equal("READY=1", await gateway.ReceiveNotificationAsync());
            await gateway.TerminateAsync();
            Assert.Equal(0, await gateway.WaitForExitAsync());
            lines = gateway.StdoutLines.ToArray();
        }

        // The image's appsettings.json makes every line one JSON object (the journal's MESSAGE) with the fields the
        // pipeline reads: the time key in the parser's format, and the category the lifecycle rule matches on.
        Assert.Contains(lines, l => l.Contains("Application started", StringComparison.Ordinal));
        string timeFormat = ToDotNetFormat(parser.Get("Time_Format")!);
        foreach (string line in lines)
        {
            using JsonDocument record = JsonDocument.Parse(line);
            string timestamp = record.RootElement.GetProperty(parser.Get("Time_Key")!).GetString()!;
            Assert.True(DateTime.TryParseExact(timestamp, timeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out _), $"{timestamp} does not fit {parser.Get("Time_Format")}");
            string category = record.RootElement.GetProperty(field).GetString()!;
            Assert.False(pattern.IsMatch(category), $"{category} would go to the prompt lifecycle stream");
        }

        // The contract with the lifecycle lines (issue 10): their category is Gateway.Prompts.Lifecycle, and only they move.
        Assert.Matches(pattern, "Gateway.Prompts.Lifecycle");
        Assert.DoesNotMatch(pattern, "Gateway.Prompts.LifecycleSummary");
        Assert.DoesNotMatch(pattern, "Gateway.Prompts");
        Assert.Equal("gateway.prompt", tag);
    }

    /// <summary>fluent-bit's strptime format (with %L for fractions) as a .NET exact format.</summary>
    private static string ToDotNetFormat(string strptime)
    {
        var map = new Dictionary<char, string> { ['Y'] = "yyyy", ['m'] = "MM", ['d'] = "dd", ['H'] = "HH", ['M'] = "mm", ['S'] = "ss", ['L'] = "fff" };
        var format = new System.Text.StringBuilder();
        for (int i = 0; i < strptime.Length; i++)
        {
            if (strptime[i] == '%')
            {
                format.Append(map[strptime[++i]]);
            }
            else
            {
                format.Append('\'').Append(strptime[i]).Append('\'');
            }
        }

        return format.ToString();
    }
}
