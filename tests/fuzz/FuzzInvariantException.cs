namespace Gateway.Fuzz;

/// <summary>A codec broke one of its invariants on a fuzz input (a crash for libFuzzer and AFL).</summary>
public sealed class FuzzInvariantException(string message) : Exception(message)
{
    /// <summary>Throws unless <paramref name="condition"/> holds.</summary>
    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new FuzzInvariantException(what);
        }
    }

    /// <summary>Throws unless <paramref name="part"/> lies inside <paramref name="whole"/> (or is empty): a codec never reads past its input.</summary>
    public static void CheckWithin(ReadOnlySpan<byte> whole, ReadOnlySpan<byte> part, string what)
    {
        if (part.IsEmpty)
        {
            return;
        }

        Check(whole.Overlaps(part, out int offset) && offset >= 0 && offset + part.Length <= whole.Length, $"{what} lies outside the input");
    }
}
