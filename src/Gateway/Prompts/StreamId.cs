using System.Globalization;

namespace Gateway.Prompts;

/// <summary>A Redis stream entry id, <c>&lt;ms&gt;-&lt;seq&gt;</c>, compared as Redis compares them.</summary>
internal readonly record struct StreamId(long Ms, long Seq) : IComparable<StreamId>
{
    public static readonly StreamId Zero = new(0, 0);

    public static bool TryParse(ReadOnlySpan<char> text, out StreamId id)
    {
        id = default;
        int dash = text.IndexOf('-');
        ReadOnlySpan<char> ms = dash < 0 ? text : text[..dash];
        ReadOnlySpan<char> seq = dash < 0 ? "0" : text[(dash + 1)..];
        if (!long.TryParse(ms, NumberStyles.None, CultureInfo.InvariantCulture, out long m) ||
            !long.TryParse(seq, NumberStyles.None, CultureInfo.InvariantCulture, out long s))
        {
            return false;
        }

        id = new StreamId(m, s);
        return true;
    }

    public static StreamId Parse(string text) =>
        TryParse(text, out StreamId id) ? id : throw new FormatException($"not a stream id: '{text}'");

    public int CompareTo(StreamId other)
    {
        int byMs = Ms.CompareTo(other.Ms);
        return byMs != 0 ? byMs : Seq.CompareTo(other.Seq);
    }

    public static bool operator <(StreamId a, StreamId b) => a.CompareTo(b) < 0;

    public static bool operator >(StreamId a, StreamId b) => a.CompareTo(b) > 0;

    public static bool operator <=(StreamId a, StreamId b) => a.CompareTo(b) <= 0;

    public static bool operator >=(StreamId a, StreamId b) => a.CompareTo(b) >= 0;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Ms}-{Seq}");
}
