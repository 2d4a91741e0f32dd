using System.Globalization;
using System.Text.Json;
using Gateway.Streams;
using StackExchange.Redis;

namespace Gateway.Publish;

/// <summary>One region of the regions file: its name and its parsed StackExchange.Redis configuration.</summary>
public sealed record Region(string Name, ConfigurationOptions Configuration);

/// <summary>Command line of the multi-region publisher. Every problem is an <see cref="ArgumentException"/> naming it.</summary>
public sealed class PublishOptions
{
    public const string Usage = """
        publish --regions regions.json --data '[{"q":"Who?"}]' [options]
          --regions FILE          JSON object {"eu-west": "<StackExchange.Redis configuration>", ...}; one line per region, in file order
          --data JSON             the event's arguments, a JSON array (or --data-file FILE)
          --id ID                 prompt id, the same in every region (default: generated and printed)
          --namespace /           Socket.IO namespace
          --channel C             channel inside the namespace (default: the whole namespace)
          --event prompt          event name
          --reveal-in 5s          reveal at now + 500ms / 5s / 2m (computed once, the same in every region)
          --reveal-at MS          reveal at this instant, ms since the Unix epoch
          --answer-for 20s        answers accepted until the reveal (or now) + this; later ones are acked "closed"
          --retries 3             further attempts per region after a failure (short backoff between them)
          --timeout 5s            limit of one attempt (connect + XADD + PUBLISH) per region
          --stream gateway:prompts  stream key (the wake-up channel is <key>:wake)
          --maxlen 100000         XADD MAXLEN ~ retention
        exit code: 0 every region has the prompt, 1 some region failed, 2 usage error
        """;

    public required Region[] Regions { get; init; }

    public required PromptEntry Prompt { get; init; }

    /// <summary>True when <see cref="PromptEntry.Id"/> was generated here (it is printed first).</summary>
    public bool IdGenerated { get; init; }

    public int Retries { get; init; } = 3;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    public string Stream { get; init; } = PromptStream.DefaultKey;

    public long MaxLength { get; init; } = PromptStream.DefaultMaxLength;

    /// <summary>Parses and checks everything (regions file, data, prompt) before any region is contacted.</summary>
    public static PublishOptions Parse(string[] args, long nowUnixMs)
    {
        string? regionsPath = null, data = null, dataFile = null, id = null, channel = null, revealIn = null, revealAt = null, answerFor = null;
        string ns = PromptEntry.DefaultNamespace, ev = PromptEntry.DefaultEvent, stream = PromptStream.DefaultKey;
        int retries = 3;
        TimeSpan timeout = TimeSpan.FromSeconds(5);
        long maxLength = PromptStream.DefaultMaxLength;
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            switch (a)
            {
                case "--regions": regionsPath = Next(); break;
                case "--data": data = Next(); break;
                case "--data-file": dataFile = Next(); break;
                case "--id": id = Next(); break;
                case "--namespace": ns = Next(); break;
                case "--channel": channel = Next(); break;
                case "--event": ev = Next(); break;
                case "--reveal-in": revealIn = Next(); break;
                case "--reveal-at": revealAt = Next(); break;
                case "--answer-for": answerFor = Next(); break;
                case "--retries":
                    retries = ParseInt(a, Next());
                    if (retries is < 0 or > 100)
                    {
                        throw new ArgumentException("--retries must be 0–100");
                    }

                    break;
                case "--timeout":
                    timeout = ParseDuration(a, Next());
                    if (timeout <= TimeSpan.Zero || timeout > TimeSpan.FromMinutes(10))
                    {
                        throw new ArgumentException("--timeout must be more than 0 and at most 10m");
                    }

                    break;
                case "--stream":
                    stream = Next();
                    if (stream.Length == 0)
                    {
                        throw new ArgumentException("--stream must not be empty");
                    }

                    break;
                case "--maxlen":
                    maxLength = ParseLong(a, Next());
                    if (maxLength < 1)
                    {
                        throw new ArgumentException("--maxlen must be at least 1");
                    }

                    break;
                default:
                    throw new ArgumentException($"unknown option {a}");
            }
        }

        if (regionsPath is null)
        {
            throw new ArgumentException("--regions is required");
        }

        if (data is not null && dataFile is not null)
        {
            throw new ArgumentException("give --data or --data-file, not both");
        }

        if (dataFile is not null)
        {
            data = ReadFile("--data-file", dataFile);
        }

        if (data is null)
        {
            throw new ArgumentException("--data (or --data-file) is required");
        }

        if (revealIn is not null && revealAt is not null)
        {
            throw new ArgumentException("give --reveal-in or --reveal-at, not both");
        }

        long? revealAtMs = null;
        if (revealIn is not null)
        {
            TimeSpan delay = ParseDuration("--reveal-in", revealIn);
            if (delay < TimeSpan.Zero)
            {
                throw new ArgumentException("--reveal-in must not be negative");
            }

            revealAtMs = nowUnixMs + (long)delay.TotalMilliseconds;
        }
        else if (revealAt is not null)
        {
            revealAtMs = ParseLong("--reveal-at", revealAt);
            if (revealAtMs < 0)
            {
                throw new ArgumentException("--reveal-at is milliseconds since the Unix epoch (not negative)");
            }
        }

        long? answerUntilMs = null;
        if (answerFor is not null)
        {
            TimeSpan window = ParseDuration("--answer-for", answerFor);
            if (window <= TimeSpan.Zero)
            {
                throw new ArgumentException("--answer-for must be more than 0");
            }

            // From the reveal: the window is the time viewers have to answer once they see the prompt.
            answerUntilMs = (revealAtMs ?? nowUnixMs) + (long)window.TotalMilliseconds;
        }

        bool generated = id is null;
        id ??= Guid.CreateVersion7().ToString("N");
        var prompt = new PromptEntry(id, ns, string.IsNullOrEmpty(channel) ? null : channel, ev, data, revealAtMs, AnswerUntilMs: answerUntilMs);
        if (prompt.Validate() is string error)
        {
            throw new ArgumentException("invalid prompt: " + error);
        }

        return new PublishOptions
        {
            Regions = ReadRegions(regionsPath),
            Prompt = prompt,
            IdGenerated = generated,
            Retries = retries,
            Timeout = timeout,
            Stream = stream,
            MaxLength = maxLength,
        };
    }

    /// <summary>The regions file: a flat JSON object of name → StackExchange.Redis configuration string, in order.</summary>
    public static Region[] ReadRegions(string path)
    {
        string text = ReadFile("--regions", path);
        var regions = new List<Region>();
        try
        {
            using JsonDocument document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException($"{path}: must be a JSON object {{\"region\": \"<redis configuration>\", …}}");
            }

            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (property.Name.Length == 0)
                {
                    throw new ArgumentException($"{path}: a region name is empty");
                }

                if (regions.Any(r => r.Name == property.Name))
                {
                    throw new ArgumentException($"{path}: region {property.Name} appears twice");
                }

                if (property.Value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(property.Value.GetString()))
                {
                    throw new ArgumentException($"{path}: region {property.Name} needs a StackExchange.Redis configuration string");
                }

                ConfigurationOptions configuration;
                try
                {
                    configuration = ConfigurationOptions.Parse(property.Value.GetString()!);
                }
                catch (Exception e) when (e is ArgumentException or FormatException or NotSupportedException or RedisException)
                {
                    throw new ArgumentException($"{path}: region {property.Name}: {e.Message}");
                }

                if (configuration.EndPoints.Count == 0)
                {
                    throw new ArgumentException($"{path}: region {property.Name} has no endpoint (host:port)");
                }

                regions.Add(new Region(property.Name, configuration));
            }
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{path}: not valid JSON ({e.Message})");
        }

        if (regions.Count == 0)
        {
            throw new ArgumentException($"{path}: no regions");
        }

        return [.. regions];
    }

    /// <summary>"500ms", "5s", "2m", "1.5s"; a bare number is seconds.</summary>
    public static TimeSpan ParseDuration(string option, string text)
    {
        string t = text.Trim();
        (string number, double unitMs) = t.EndsWith("ms", StringComparison.Ordinal) ? (t[..^2], 1.0)
            : t.EndsWith('s') ? (t[..^1], 1000.0)
            : t.EndsWith('m') ? (t[..^1], 60_000.0)
            : (t, 1000.0);
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out double value) ||
            !double.IsFinite(value) || Math.Abs(value * unitMs) > TimeSpan.FromDays(1).TotalMilliseconds)
        {
            throw new ArgumentException($"{option}: '{text}' is not a duration (500ms, 5s, 2m)");
        }

        return TimeSpan.FromMilliseconds(value * unitMs);
    }

    private static int ParseInt(string option, string text) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new ArgumentException($"{option}: '{text}' is not an integer");

    private static long ParseLong(string option, string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new ArgumentException($"{option}: '{text}' is not an integer");

    private static string ReadFile(string option, string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ArgumentException($"{option}: cannot read {path} ({e.Message})");
        }
    }
}
