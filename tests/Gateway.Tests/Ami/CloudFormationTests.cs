using System.Text.Json;
using Gateway.Tests.EndToEnd;

namespace Gateway.Tests.Ami;

/// <summary>
/// The CloudFormation templates, checked against the CloudFormation resource specification (npm
/// <c>@aws-cdk/cfnspec</c>, by tests/node/cfn-check.mjs: Debian has no cfn-lint), their agreement with the image's
/// configuration, and <c>ami/deploy --dry-run</c>. Nothing here talks to AWS.
/// </summary>
public sealed class CloudFormationTests
{
    private static string TemplatesDir => Path.Combine(Installation.AmiDir, "cloudformation");

    private static async Task<(CommandResult Run, JsonElement Report)> CheckAsync(params string[] templates)
    {
        CommandResult run = await CommandLine.RunAsync("node", ["cfn-check.mjs", .. templates], workingDirectory: TestPaths.NodeDir);
        string? line = run.Stdout.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        Assert.True(line is not null, run.Describe());
        return (run, JsonDocument.Parse(line).RootElement.Clone());
    }

    /// <summary>A template as CloudFormation reads it (short forms expanded), as JSON.</summary>
    private static async Task<JsonElement> ParsedAsync(string template)
    {
        CommandResult run = await CommandLine.RunAsync("node", ["cfn-check.mjs", "--dump", Path.Combine(TemplatesDir, template)], workingDirectory: TestPaths.NodeDir);
        Assert.True(run.ExitCode == 0, run.Describe());
        return JsonDocument.Parse(run.Stdout).RootElement.Clone();
    }

    [Fact]
    public async Task Templates_AgainstTheResourceSpecification_NoError()
    {
        string[] templates = Directory.GetFiles(TemplatesDir, "*.yaml").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["dns.yaml", "gateway.yaml", "network.yaml", "redis.yaml"], templates.Select(t => Path.GetFileName(t)).ToArray());

        (CommandResult run, JsonElement report) = await CheckAsync(templates);

        Assert.True(run.ExitCode == 0, run.Describe());
        foreach (JsonElement file in report.GetProperty("files").EnumerateArray())
        {
            Assert.True(file.GetProperty("resources").GetInt32() > 0, file.GetRawText());
            Assert.Empty(file.GetProperty("errors").EnumerateArray());
        }
    }

    [Fact]
    public async Task Checker_BrokenTemplate_NamesEachMistake()
    {
        string text = File.ReadAllText(Path.Combine(TemplatesDir, "gateway.yaml"));
        string broken = Path.Combine(Path.GetTempPath(), $"gateway-broken-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(broken, text
            .Replace("HealthCheckPath: /readyz", "HealthCheckPathz: /readyz", StringComparison.Ordinal)
            .Replace("HealthyThresholdCount: 2", "HealthyThresholdCount: two", StringComparison.Ordinal)
            .Replace("LoadBalancer.LoadBalancerFullName", "LoadBalancer.FullName", StringComparison.Ordinal)
            .Replace("${RedisPort},ssl", "${RedisPortz},ssl", StringComparison.Ordinal)
            .Replace("Type: AWS::IAM::InstanceProfile", "Type: AWS::IAM::InstanceProfiles", StringComparison.Ordinal));
        try
        {
            (CommandResult run, JsonElement report) = await CheckAsync(broken);

            Assert.Equal(1, run.ExitCode);
            string errors = report.GetProperty("files")[0].GetProperty("errors").GetRawText();
            Assert.Contains("HealthCheckPathz: unknown property", errors, StringComparison.Ordinal);
            Assert.Contains("HealthyThresholdCount: expected Integer", errors, StringComparison.Ordinal);
            Assert.Contains("has no attribute FullName", errors, StringComparison.Ordinal);
            Assert.Contains("Sub names unknown RedisPortz", errors, StringComparison.Ordinal);
            Assert.Contains("Parameters.RedisPort: never used", errors, StringComparison.Ordinal);
            Assert.Contains("unknown resource type AWS::IAM::InstanceProfiles", errors, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(broken);
        }
    }

    [Fact]
    public async Task GatewayStack_MatchesTheImageAndTheDrain()
    {
        JsonElement template = await ParsedAsync("gateway.yaml");
        JsonElement resources = template.GetProperty("Resources");
        using JsonDocument appsettings = JsonDocument.Parse(File.ReadAllText(Path.Combine(Installation.AmiDir, "config", "appsettings.json")));
        JsonElement gateway = appsettings.RootElement.GetProperty("Gateway");
        JsonElement targets = resources.GetProperty("TargetGroup").GetProperty("Properties");
        Dictionary<string, string> attributes = targets.GetProperty("TargetGroupAttributes").EnumerateArray()
            .ToDictionary(a => a.GetProperty("Key").GetString()!, a => a.GetProperty("Value").GetString()!);

        // The NLB sends viewers to the public port with a PROXY v2 header, which the image's gateway reads.
        Assert.Equal(gateway.GetProperty("Port").GetInt32(), targets.GetProperty("Port").GetInt32());
        Assert.Equal("TCP", targets.GetProperty("Protocol").GetString());
        Assert.Equal("true", attributes["proxy_protocol_v2.enabled"]);
        Assert.True(gateway.GetProperty("ProxyProtocol").GetBoolean());
        // Readiness on the health port, which is not the admin port.
        Assert.Equal(gateway.GetProperty("HealthPort").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture), targets.GetProperty("HealthCheckPort").GetString());
        Assert.Equal("/readyz", targets.GetProperty("HealthCheckPath").GetString());
        Assert.Equal("HTTP", targets.GetProperty("HealthCheckProtocol").GetString());
        // Deregistration waits at least the drain (delay + window), and neither it nor an unhealthy verdict cuts sockets.
        Assert.True(int.Parse(attributes["deregistration_delay.timeout_seconds"], System.Globalization.CultureInfo.InvariantCulture) * 1000 >= 5_000 + 30_000);
        Assert.Equal("false", attributes["deregistration_delay.connection_termination.enabled"]);
        Assert.Equal("false", attributes["target_health_state.unhealthy.connection_termination.enabled"]);
        Assert.Equal("false", attributes["stickiness.enabled"]);
        // One static address per zone, kept when the stack goes.
        JsonElement mappings = resources.GetProperty("LoadBalancer").GetProperty("Properties").GetProperty("SubnetMappings");
        Assert.Equal(3, mappings.GetArrayLength());
        foreach (string address in new[] { "Address1", "Address2", "Address3" })
        {
            Assert.Equal("Retain", resources.GetProperty(address).GetProperty("DeletionPolicy").GetString());
        }

        // Fixed capacity: min = desired; a rolling update keeps all of it in service and waits for readiness signals.
        JsonElement group = resources.GetProperty("Group");
        Assert.Equal("InstanceCount", group.GetProperty("Properties").GetProperty("MinSize").GetProperty("Ref").GetString());
        Assert.Equal("InstanceCount", group.GetProperty("Properties").GetProperty("DesiredCapacity").GetProperty("Ref").GetString());
        JsonElement rolling = group.GetProperty("UpdatePolicy").GetProperty("AutoScalingRollingUpdate");
        Assert.Equal("InstanceCount", rolling.GetProperty("MinInstancesInService").GetProperty("Ref").GetString());
        Assert.True(rolling.GetProperty("WaitOnResourceSignals").GetBoolean());
        // The instances admit the public and health ports from the NLB only: never the admin port, never SSH.
        JsonElement ingress = resources.GetProperty("InstanceSecurityGroup").GetProperty("Properties").GetProperty("SecurityGroupIngress");
        Assert.Equal([3000, 3002], ingress.EnumerateArray().Select(r => r.GetProperty("FromPort").GetInt32()).Order().ToArray());
        Assert.All(ingress.EnumerateArray(), r => Assert.Equal("LoadBalancerSecurityGroup", r.GetProperty("SourceSecurityGroupId").GetProperty("Ref").GetString()));
    }

    [Fact]
    public async Task RedisStack_ReplicaWithAutomaticFailover()
    {
        JsonElement group = (await ParsedAsync("redis.yaml")).GetProperty("Resources").GetProperty("ReplicationGroup").GetProperty("Properties");

        Assert.Equal(2, group.GetProperty("NumCacheClusters").GetInt32());
        Assert.True(group.GetProperty("AutomaticFailoverEnabled").GetBoolean());
        Assert.True(group.GetProperty("MultiAZEnabled").GetBoolean());
        Assert.True(group.GetProperty("TransitEncryptionEnabled").GetBoolean());
    }

    [Fact]
    public async Task Deploy_DryRunOnSixRegions_PrintsEachRegionsPlanWithoutTheAwsCli()
    {
        string work = Directory.CreateTempSubdirectory("gateway-deploy-").FullName;
        try
        {
            string output = Path.Combine(work, "regions.json");
            // No aws on PATH, no credentials, no configuration: a dry run needs none of them.
            var environment = new Dictionary<string, string?>
            {
                ["PATH"] = "/usr/bin:/bin",
                ["HOME"] = work,
                ["AWS_ACCESS_KEY_ID"] = null,
                ["AWS_SECRET_ACCESS_KEY"] = null,
                ["AWS_PROFILE"] = null,
                ["AWS_CONFIG_FILE"] = null,
                ["AWS_SHARED_CREDENTIALS_FILE"] = null,
            };
            Assert.False(File.Exists("/usr/bin/aws") || File.Exists("/bin/aws"), "the test needs a PATH without the aws CLI");

            CommandResult run = await CommandLine.RunAsync(
                "/usr/bin/python3", [Path.Combine(Installation.AmiDir, "deploy"), "--regions", Path.Combine(Installation.AmiDir, "regions", "show.json"), "--dry-run", "--out", output],
                environment: environment);

            Assert.True(run.ExitCode == 0, run.Describe());
            string[] regions = ["ap-northeast-1", "ap-southeast-1", "us-east-1", "us-west-2", "eu-west-1", "eu-central-1"];
            foreach (string region in regions)
            {
                string block = run.Stdout[run.Stdout.IndexOf($"region {region}\n", StringComparison.Ordinal)..];
                block = block[..(block.IndexOf("\n\n", StringComparison.Ordinal) + 1)];
                Assert.Contains($"gateway-network in {region}: aws cloudformation deploy --region {region}", block, StringComparison.Ordinal);
                Assert.Contains($"gateway-redis in {region}:", block, StringComparison.Ordinal);
                Assert.Contains($"gateway-gateway in {region}:", block, StringComparison.Ordinal);
                Assert.Contains($"gateway-dns-{region} in us-east-1:", block, StringComparison.Ordinal);
                // Ids pass between stacks: the gateway stack takes the Redis stack's outputs.
                Assert.Contains("RedisEndpoint=<redis.PrimaryEndpoint>", block, StringComparison.Ordinal);
            }

            // The regions file tools/publish reads, previewed, not written.
            Assert.False(File.Exists(output));
            string preview = run.Stdout[run.Stdout.IndexOf('{', run.Stdout.IndexOf("would write", StringComparison.Ordinal))..];
            using JsonDocument publishRegions = JsonDocument.Parse(preview);
            Assert.Equal(regions, publishRegions.RootElement.EnumerateObject().Select(p => p.Name).ToArray());
            Assert.All(publishRegions.RootElement.EnumerateObject(), p => Assert.Contains(",ssl=true,password=", p.Value.GetString(), StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Deploy_InvalidRegionsFile_Exit2NamingEachProblemBeforeAnyRegion()
    {
        string file = Path.Combine(Path.GetTempPath(), $"gateway-regions-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """
            {"regions": {"eu-west-1": {"cidr": "10.1.0.0/16", "instancesPerZone": 0},
                         "eu-central-1": {"cidr": "10.1.0.0/16", "instancesPerZone": 1, "logOutput": "kafka"}}}
            """);
        try
        {
            CommandResult run = await CommandLine.RunAsync("/usr/bin/python3", [Path.Combine(Installation.AmiDir, "deploy"), "--regions", file, "--dry-run"]);

            Assert.Equal(2, run.ExitCode);
            Assert.Contains("regions[\"eu-west-1\"].instancesPerZone must be an integer >= 1", run.Stderr, StringComparison.Ordinal);
            Assert.Contains("regions[\"eu-central-1\"].cidr 10.1.0.0/16 is used by another region", run.Stderr, StringComparison.Ordinal);
            Assert.Contains("regions[\"eu-central-1\"].logOutput must be one of s3, firehose, forward", run.Stderr, StringComparison.Ordinal);
            Assert.Equal("", run.Stdout);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
