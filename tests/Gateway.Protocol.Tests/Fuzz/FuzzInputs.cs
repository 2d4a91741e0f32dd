using System.Text;
using CsCheck;
using Gateway.Fuzz;

namespace Gateway.Protocol.Tests.Fuzz;

/// <summary>
/// Inputs for the fuzz entry points, as CsCheck generators (so a failure shrinks to a small input and prints the seed
/// that replays it): the target's seeds mutated (bit flips, bytes set, inserted, deleted, duplicated, truncated), random
/// bytes, and random runs of the characters the text protocols give meaning to.
/// </summary>
internal static class FuzzInputs
{
    /// <summary>Bytes the parsers branch on: digits, JSON punctuation, separators, CR/LF, the record separator, high bytes.</summary>
    private static readonly byte[] Meaningful = Encoding.ASCII.GetBytes("0123456789[]{}\",:/-_\\. \r\n\tbPROXYTCP46UNKWafx?=&")
        .Concat(new byte[] { 0x00, 0x1E, 0x7F, 0x80, 0xC3, 0xE2, 0xED, 0xF0, 0xFF, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x21, 0x11 })
        .ToArray();

    private static readonly byte[] Interesting = [0x00, 0x01, 0x7E, 0x7F, 0x80, 0x81, 0xFE, 0xFF, (byte)'0', (byte)'9', (byte)'-', (byte)'/', (byte)',', (byte)'"', 0x1E, (byte)'\r', (byte)'\n', (byte)' '];

    /// <summary>One edit of a seed: what, where (taken modulo the length), a byte, a length.</summary>
    private readonly record struct Mutation(int Kind, int Position, byte Value, int Length);

    private static readonly Gen<Mutation> OneMutation =
        Gen.Select(Gen.Int[0, 6], Gen.Int[0, 1 << 20], Gen.Byte, Gen.Int[1, 24], (kind, position, value, length) => new Mutation(kind, position, value, length));

    public static Gen<byte[]> For(string target)
    {
        byte[][] seeds = Seeds.For(target).Select(s => s.Bytes).ToArray();
        Gen<byte[]> mutated = Gen.Select(Gen.Int[0, seeds.Length - 1], OneMutation.Array[1, 6], (index, mutations) => Apply(seeds[index], mutations));
        Gen<byte[]> random = Gen.Byte.Array[0, 300];
        Gen<byte[]> meaningful = Gen.OneOf(Meaningful).Array[0, 200];
        // A seed's start followed by meaningful noise: reaches the later fields of headers and packets.
        Gen<byte[]> prefixed = Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Int[0, 120], meaningful, (index, keep, tail) => (byte[])[.. seeds[index].AsSpan(0, Math.Min(keep, seeds[index].Length)), .. tail]);
        return Gen.Frequency((5, mutated), (2, prefixed), (2, meaningful), (1, random));
    }

    private static byte[] Apply(byte[] seed, Mutation[] mutations)
    {
        var bytes = new List<byte>(seed);
        foreach (Mutation m in mutations)
        {
            int at = bytes.Count == 0 ? 0 : m.Position % bytes.Count;
            switch (m.Kind)
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << (m.Value & 7));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] = m.Value;
                    break;
                case 2 when bytes.Count > 0:
                    bytes[at] = Interesting[m.Value % Interesting.Length];
                    break;
                case 3:
                    bytes.Insert(at, m.Value);
                    break;
                case 4 when bytes.Count > 0:
                    bytes.RemoveRange(at, Math.Min(m.Length, bytes.Count - at));
                    break;
                case 5 when bytes.Count > 0:
                    bytes.InsertRange(at, bytes.GetRange(at, Math.Min(m.Length, bytes.Count - at)));
                    break;
                case 6:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
            }
        }

        return [.. bytes];
    }
}
