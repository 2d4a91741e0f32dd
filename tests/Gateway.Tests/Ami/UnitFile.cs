namespace Gateway.Tests.Ami;

/// <summary>A systemd unit file as systemd reads it: sections of Key=Value lines, a key may repeat.</summary>
public sealed class UnitFile
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    public static UnitFile Parse(string text)
    {
        var unit = new UnitFile();
        string section = "";
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[')
            {
                section = line.Trim('[', ']');
                continue;
            }

            int eq = line.IndexOf('=');
            string key = section + "." + line[..eq].Trim();
            if (!unit._values.TryGetValue(key, out List<string>? list))
            {
                unit._values[key] = list = [];
            }

            list.Add(line[(eq + 1)..].Trim());
        }

        return unit;
    }

    /// <summary>Every value of <c>Section.Key</c>, in file order.</summary>
    public IReadOnlyList<string> All(string key) => _values.TryGetValue(key, out List<string>? list) ? list : [];

    /// <summary>The value systemd uses for a single-valued key: the last one.</summary>
    public string? Get(string key) => All(key).LastOrDefault();

    /// <summary>An <c>EnvironmentFile</c> or <c>Environment</c> line's KEY=VALUE pairs (no quoting in ours).</summary>
    public static IEnumerable<KeyValuePair<string, string>> Assignments(IEnumerable<string> lines) =>
        lines.Select(l => l.Trim())
            .Where(l => l.Length > 0 && l[0] != '#' && l.Contains('='))
            .Select(l => new KeyValuePair<string, string>(l[..l.IndexOf('=')], l[(l.IndexOf('=') + 1)..]));
}
