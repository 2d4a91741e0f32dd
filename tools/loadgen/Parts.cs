using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Gateway.LoadGen;

/// <summary>A share of the run: this process's own clients, or a child process (<c>--workers</c>).</summary>
public interface IRunPart
{
    Status Status { get; }

    void Start();

    void ExpectPrompt(int index, long publishedAtMs);

    void Drop(double fraction);

    void SetStormResult(long backWithin, double secondsTo99);

    Task<Report> StopAsync();
}

public sealed class LocalPart(LocalRun run) : IRunPart
{
    public LocalRun Run { get; } = run;

    public Status Status => Run.Status();

    public void Start() => Run.Start();

    public void ExpectPrompt(int index, long publishedAtMs) => Run.ExpectPrompt(index, publishedAtMs);

    public void Drop(double fraction) => Run.Drop(fraction);

    public void SetStormResult(long backWithin, double secondsTo99) => Run.SetStormResult(backWithin, secondsTo99);

    public Task<Report> StopAsync() => Run.StopAsync();
}

/// <summary>
/// A child process of this tool, driven over its stdin ("prompt i ms", "drop f", "storm n s", "stop") and reporting
/// one JSON status line per second on stdout; its report comes back as a file.
/// </summary>
public sealed class ChildPart : IRunPart
{
    private readonly string[] _args;
    private readonly string _reportPath;
    private Process? _process;
    private Task? _reader;

    public ChildPart(string[] args, string reportPath)
    {
        _args = args;
        _reportPath = reportPath;
    }

    public Status Status { get; private set; } = new();

    public void Start()
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        string? entry = Environment.GetCommandLineArgs()[0];
        if (entry.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            psi.ArgumentList.Add(entry); // run through the dotnet host
        }

        foreach (string a in _args)
        {
            psi.ArgumentList.Add(a);
        }

        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start a worker");
        _reader = Task.Run(async () =>
        {
            while (await _process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line.StartsWith("status ", StringComparison.Ordinal))
                {
                    try
                    {
                        Status = JsonSerializer.Deserialize<Status>(line.AsSpan(7), Report.JsonOptions) ?? Status;
                    }
                    catch (JsonException)
                    {
                        // A torn line: keep the previous status.
                    }
                }
            }
        });
    }

    private void Send(string line)
    {
        try
        {
            _process!.StandardInput.WriteLine(line);
            _process.StandardInput.Flush();
        }
        catch (IOException)
        {
        }
    }

    public void ExpectPrompt(int index, long publishedAtMs) => Send(string.Create(CultureInfo.InvariantCulture, $"prompt {index} {publishedAtMs}"));

    public void Drop(double fraction) => Send(string.Create(CultureInfo.InvariantCulture, $"drop {fraction}"));

    public void SetStormResult(long backWithin, double secondsTo99) => Send(string.Create(CultureInfo.InvariantCulture, $"storm {backWithin} {secondsTo99}"));

    public async Task<Report> StopAsync()
    {
        Send("stop");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await _process!.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process!.Kill();
        }

        if (_reader is not null)
        {
            await _reader.ConfigureAwait(false);
        }

        Report report = Report.FromJson(await File.ReadAllTextAsync(_reportPath).ConfigureAwait(false));
        File.Delete(_reportPath);
        return report;
    }
}
