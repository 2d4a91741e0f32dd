namespace Gateway.Tests.Ami;

/// <summary>One <c>[SECTION]</c> of a fluent-bit classic configuration: its kind and its <c>Key Value</c> lines.</summary>
public sealed record FluentBitSection(string Kind, IReadOnlyList<KeyValuePair<string, string>> Entries)
{
    /// <summary>A key's value (keys are case-insensitive in fluent-bit); the last one wins.</summary>
    public string? Get(string key) => Entries.LastOrDefault(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase)).Value;

    public IEnumerable<string> All(string key) => Entries.Where(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase)).Select(e => e.Value);

    public string? Name => Get("Name");
}

/// <summary>
/// Reads fluent-bit's classic configuration format as fluent-bit does: <c>[SECTION]</c> headers, indented
/// <c>Key Value</c> lines, <c>#</c> comments, <c>@INCLUDE</c> relative to the including file. Fluent-bit itself is
/// not in Debian's archive, so the tests check the configuration through this reader (and the image runs the real one).
/// </summary>
public static class FluentBitConfig
{
    private static readonly string[] Kinds = ["SERVICE", "INPUT", "FILTER", "OUTPUT", "PARSER", "MULTILINE_PARSER"];

    public static List<FluentBitSection> Load(string path)
    {
        var sections = new List<FluentBitSection>();
        Read(path, sections, depth: 0);
        return sections;
    }

    private static void Read(string path, List<FluentBitSection> sections, int depth)
    {
        if (depth > 8)
        {
            throw new InvalidDataException($"{path}: @INCLUDE nested too deep");
        }

        string[] lines = File.ReadAllLines(path);
        List<KeyValuePair<string, string>>? entries = null;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            string where = $"{path}:{i + 1}";
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (line.StartsWith("@INCLUDE ", StringComparison.Ordinal))
            {
                Read(Path.Combine(Path.GetDirectoryName(path)!, line["@INCLUDE ".Length..].Trim()), sections, depth + 1);
                entries = null;
                continue;
            }

            if (line[0] == '[')
            {
                string kind = line.Trim('[', ']').ToUpperInvariant();
                if (!line.EndsWith(']') || !Kinds.Contains(kind))
                {
                    throw new InvalidDataException($"{where}: unknown section {line}");
                }

                entries = [];
                sections.Add(new FluentBitSection(kind, entries));
                continue;
            }

            if (entries is null || !char.IsWhiteSpace(lines[i][0]))
            {
                throw new InvalidDataException($"{where}: '{line}' is outside a section or not indented");
            }

            int space = line.IndexOfAny([' ', '\t']);
            if (space < 0)
            {
                throw new InvalidDataException($"{where}: '{line}' has a key but no value");
            }

            entries.Add(new KeyValuePair<string, string>(line[..space], line[space..].Trim()));
        }
    }

    /// <summary>fluent-bit's Match: <c>*</c> stands for any characters.</summary>
    public static bool Matches(string pattern, string tag) =>
        System.Text.RegularExpressions.Regex.IsMatch(tag, "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal) + "$");
}
