using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Gateway.Tests.EndToEnd;

/// <summary>Runs tests/node/client.mjs (stock socket.io-client 4.8) and parses its JSON result.</summary>
public static class NodeClient
{
    /// <param name="url">Where the client connects, when not straight to <paramref name="server"/> (a proxy in front of it).</param>
    /// <param name="localAddress">The local address every connection of the client is bound to (127.x.y.z).</param>
    public static ProcessStartInfo StartInfo(ServerProcess server, string scenario, string transport, int timeoutMs, object? parameters, string? url = null, string? localAddress = null) =>
        StartInfo(url ?? server.Url, server.AdminUrl, scenario, transport, timeoutMs, parameters, localAddress);

    /// <summary>A scenario against any gateway: its public URL and its admin URL (publish, stats).</summary>
    public static ProcessStartInfo StartInfo(string url, string adminUrl, string scenario, string transport, int timeoutMs, object? parameters, string? localAddress = null)
    {
        var args = new List<string>
        {
            "--scenario", scenario, "--url", url, "--admin", adminUrl,
            "--transport", transport, "--timeout", timeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (parameters is not null)
        {
            args.AddRange(["--params", JsonSerializer.Serialize(parameters)]);
        }

        if (localAddress is not null)
        {
            args.AddRange(["--local-address", localAddress]);
        }

        return Script("client.mjs", args);
    }

    /// <summary>
    /// <c>node SCRIPT ARGS…</c> in tests/node (its packages installed), stdin, stdout (UTF-8) and stderr redirected: how
    /// every tests/node script is started.
    /// </summary>
    public static ProcessStartInfo Script(string script, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo
        {
            FileName = "node",
            WorkingDirectory = TestPaths.NodeDirWithPackages(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add(script);
        foreach (string arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        return psi;
    }

    /// <summary>Runs one scenario to completion (bounded by timeoutMs plus a margin) and returns its result.</summary>
    /// <inheritdoc cref="StartInfo(ServerProcess, string, string, int, object?, string?, string?)" path="/param"/>
    public static Task<ScenarioResult> RunAsync(
        ServerProcess server, string scenario, string transport, int timeoutMs = 20000, object? parameters = null, string? url = null, string? localAddress = null) =>
        RunAsync(url ?? server.Url, server.AdminUrl, scenario, transport, timeoutMs, parameters, localAddress);

    /// <summary>Runs one scenario against the gateway at <paramref name="url"/> (admin API at <paramref name="adminUrl"/>).</summary>
    public static Task<ScenarioResult> RunAsync(string url, string adminUrl, string scenario, string transport, int timeoutMs = 20000, object? parameters = null, string? localAddress = null)
        => RunScriptAsync(StartInfo(url, adminUrl, scenario, transport, timeoutMs, parameters, localAddress), $"client.mjs {scenario}", timeoutMs);

    /// <summary>
    /// Runs a tests/node script that prints one JSON result line (client.mjs, browser.mjs) to completion, bounded by
    /// <paramref name="timeoutMs"/> plus a margin (then killed), and returns that line.
    /// </summary>
    public static async Task<ScenarioResult> RunScriptAsync(ProcessStartInfo startInfo, string label, int timeoutMs)
    {
        using var process = new Process { StartInfo = startInfo };
        process.Start();
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeoutMs + 10000);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{label} did not exit within {timeoutMs + 10000} ms");
        }

        string output = await stdout;
        string errors = await stderr;
        string? line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.TrimStart().StartsWith('{'));
        if (line is null)
        {
            throw new InvalidOperationException($"{label} printed no JSON result (exit {process.ExitCode}). stdout:\n{output}\nstderr:\n{errors}");
        }

        return new ScenarioResult(JsonDocument.Parse(line).RootElement.Clone(), process.ExitCode, errors);
    }
}

/// <summary>The JSON line of client.mjs.</summary>
public sealed class ScenarioResult(JsonElement json, int exitCode, string stderr)
{
    public JsonElement Json { get; } = json;

    public int ExitCode { get; } = exitCode;

    public bool Ok => Json.TryGetProperty("ok", out JsonElement ok) && ok.ValueKind == JsonValueKind.True && ExitCode == 0;

    public JsonElement Observation(string key) => Json.GetProperty("observations").GetProperty(key);

    /// <summary>A readable account of what failed: the error, failed checks, and the Engine.IO packets seen.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append("scenario ").Append(Json.GetProperty("scenario").GetString())
            .Append(" (transport ").Append(Json.GetProperty("transport").GetString()).Append(") exit ").Append(ExitCode).AppendLine();
        if (Json.TryGetProperty("error", out JsonElement error) && error.ValueKind == JsonValueKind.String)
        {
            sb.Append("error: ").AppendLine(error.GetString());
        }

        foreach (JsonElement check in Json.GetProperty("checks").EnumerateArray())
        {
            bool ok = check.GetProperty("ok").GetBoolean();
            sb.Append(ok ? "  pass  " : "  FAIL  ").Append(check.GetProperty("name").GetString());
            if (!ok)
            {
                sb.Append(": expected ").Append(Truncate(check.GetProperty("expected").GetRawText(), 600))
                    .Append(", got ").Append(Truncate(check.GetProperty("actual").GetRawText(), 600));
            }

            sb.AppendLine();
        }

        if (Json.TryGetProperty("observations", out JsonElement obs))
        {
            sb.Append("observations: ").AppendLine(Truncate(obs.GetRawText(), 1500));
        }

        if (Json.TryGetProperty("packets", out JsonElement packets))
        {
            sb.AppendLine("Engine.IO packets (client view, last ones):");
            foreach (JsonElement p in packets.EnumerateArray().TakeLast(120))
            {
                sb.Append("  ").AppendLine(Truncate(p.GetRawText(), 400));
            }
        }

        if (!string.IsNullOrWhiteSpace(stderr))
        {
            sb.Append("stderr: ").AppendLine(Truncate(stderr, 2000));
        }

        return sb.ToString();
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : string.Concat(s.AsSpan(0, max), "…");
}
