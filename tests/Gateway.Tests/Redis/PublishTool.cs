using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Gateway.Tests.EndToEnd;

namespace Gateway.Tests.Redis;

/// <summary>
/// The multi-region publisher (tools/publish, assembly <c>publish</c>) as a child process:
/// <c>dotnet tools/publish/bin/&lt;Configuration&gt;/net10.0/publish.dll --regions regions.json …</c>.
/// </summary>
public static class PublishTool
{
    public static string? DllPath
    {
        get
        {
            foreach (string configuration in new[] { "Release", "Debug" })
            {
                string candidate = Path.Combine(TestPaths.RepoRoot, "tools", "publish", "bin", configuration, "net10.0", "publish.dll");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            return null;
        }
    }

    /// <summary>Writes a regions file (flat JSON object name → StackExchange.Redis configuration), in the given order.</summary>
    public static string WriteRegionsFile(IEnumerable<(string Name, string Configuration)> regions)
    {
        string path = Path.Combine(Path.GetTempPath(), $"gateway-regions-{Guid.NewGuid():N}.json");
        var map = new Dictionary<string, string>();
        foreach ((string name, string configuration) in regions)
        {
            map[name] = configuration;
        }

        File.WriteAllText(path, JsonSerializer.Serialize(map));
        return path;
    }

    /// <summary>
    /// Runs <c>publish --regions <paramref name="regionsFile"/> <paramref name="arguments"/>…</c> to completion (30 s at
    /// most, then killed by pid). Fails the test when the tool is not built.
    /// </summary>
    public static async Task<PublishRun> RunAsync(string regionsFile, params string[] arguments)
    {
        string? dll = DllPath;
        if (dll is null)
        {
            Assert.Fail(
                "The multi-region publisher is not built: expected tools/publish/bin/Release/net10.0/publish.dll under " +
                $"{TestPaths.RepoRoot} (tools/publish, assembly 'publish'; `dotnet build tools/publish -c Release`). " +
                "It is written on another branch; these tests need it merged.");
        }

        var psi = new ProcessStartInfo
        {
            FileName = "dotnet",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add(dll!);
        psi.ArgumentList.Add("--regions");
        psi.ArgumentList.Add(regionsFile);
        foreach (string argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet publish.dll");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        var watch = Stopwatch.StartNew();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"publish {string.Join(' ', arguments)} did not exit within 30 s");
        }

        return new PublishRun(process.ExitCode, await stdout, await stderr, watch.Elapsed);
    }
}

/// <summary>What one run of the publisher printed.</summary>
public sealed record PublishRun(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public string[] Lines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// The outcome of region <paramref name="name"/>: the second word of its line (<c>&lt;name&gt; ok …</c> →
    /// <c>ok</c>, <c>&lt;name&gt; failed …</c> → <c>failed</c>; columns may be padded), or null without a line.
    /// </summary>
    public string? RegionOutcome(string name) =>
        Lines.Select(l => l.Split((char[]?)null, 3, StringSplitOptions.RemoveEmptyEntries))
            .FirstOrDefault(words => words.Length >= 2 && words[0] == name)?[1];

    public string Describe() => $"publish exit {ExitCode} after {Elapsed.TotalMilliseconds:F0} ms\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}
