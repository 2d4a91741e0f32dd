using System.Diagnostics;

namespace Gateway.Tests.Ami;

/// <summary>What a finished command printed and returned.</summary>
public sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    public string Describe() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>Runs a command to completion, bounded in time (killed by pid past the limit).</summary>
public static class CommandLine
{
    public static async Task<CommandResult> RunAsync(
        string fileName, IEnumerable<string> arguments, string? workingDirectory = null, IDictionary<string, string?>? environment = null,
        TimeSpan? limit = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Gateway.Tests.EndToEnd.TestPaths.RepoRoot,
        };
        foreach (string argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        foreach ((string key, string? value) in environment ?? new Dictionary<string, string?>())
        {
            psi.Environment[key] = value;
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {fileName}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {limit ?? TimeSpan.FromMinutes(2)}");
        }

        return new CommandResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The full path of a program on PATH, or null.</summary>
    public static string? Which(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    /// <summary>The path of a Debian tool the test needs; test.sh installs it, so its absence is a failure, not a skip.</summary>
    public static string Require(string program, string package) =>
        Which(program) ?? throw new InvalidOperationException(
            $"{program} is not installed: test.sh installs Debian's {package} (apt-get install {package}).");
}
