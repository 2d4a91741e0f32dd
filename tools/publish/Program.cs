using System.Globalization;
using System.Text;
using Gateway.Streams;

namespace Gateway.Publish;

/// <summary>
/// The multi-region publisher: writes one prompt, with one id and one reveal_at, to the prompt stream of every region
/// in the regions file at once, and prints one line per region in file order.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["--help" or "-h"])
        {
            Console.Out.Write(PublishOptions.Usage);
            return 0;
        }

        PublishOptions options;
        try
        {
            options = PublishOptions.Parse(args, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"publish: {e.Message}\n\n{PublishOptions.Usage}").ConfigureAwait(false);
            return 2;
        }

        if (options.IdGenerated)
        {
            Console.Out.WriteLine("prompt id " + options.Prompt.Id);
            Console.Out.Flush();
        }

        var stream = new PromptStream(options.Stream, options.MaxLength);
        RegionPublisher[] publishers = [.. options.Regions.Select(r => new RegionPublisher(r, options.Timeout))];
        RegionResult[] results;
        try
        {
            results = await Task.WhenAll(publishers.Select(p =>
                Task.Run(() => p.PublishAsync(stream, options.Prompt, options.Retries, options.Timeout)))).ConfigureAwait(false);
        }
        finally
        {
            await Task.WhenAll(publishers.Select(p => p.DisposeAsync().AsTask())).ConfigureAwait(false);
        }

        Console.Out.Write(Render(results));
        Console.Out.Flush();
        return results.All(r => r.Ok) ? 0 : 1;
    }

    /// <summary><c>eu-west   ok      1.9 ms  1764700000000-0</c> / <c>us-east   failed  4 attempts: reason</c>.</summary>
    public static string Render(IReadOnlyList<RegionResult> results)
    {
        int width = results.Max(r => r.Name.Length);
        var sb = new StringBuilder();
        foreach (RegionResult r in results)
        {
            sb.Append(r.Name.PadRight(width)).Append("   ");
            if (r.Ok)
            {
                sb.Append("ok      ")
                    .Append(string.Create(CultureInfo.InvariantCulture, $"{r.Latency.TotalMilliseconds:0.0} ms  "))
                    .Append(r.StreamId);
                if (r.Attempts > 1)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"  (attempt {r.Attempts})");
                }
            }
            else
            {
                sb.Append("failed  ")
                    .Append(CultureInfo.InvariantCulture, $"{r.Attempts} attempt{(r.Attempts == 1 ? "" : "s")}: ")
                    .Append(r.Error);
            }

            sb.Append('\n');
        }

        return sb.ToString();
    }
}
