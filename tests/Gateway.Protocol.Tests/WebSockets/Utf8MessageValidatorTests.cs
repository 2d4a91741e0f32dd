using System.Text;
using Gateway.Protocol.WebSockets;

namespace Gateway.Protocol.Tests.WebSockets;

public class Utf8MessageValidatorTests
{
    public static TheoryData<string, byte[]> ValidTexts => new()
    {
        { "empty", [] },
        { "ascii", "Hello"u8.ToArray() },
        // Autobahn 6.2: "Hello-µ@ßöäüàá-UTF-8!!" (2-byte sequences).
        { "latin", Encoding.UTF8.GetBytes("Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!") },
        // Autobahn 6.3 / Markus Kuhn: "κόσμε".
        { "greek", [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5] },
        // Boundaries: U+0000, U+007F, U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFD, U+FFFF, U+10000, U+10FFFF.
        { "boundaries", [0x00, 0x7f, 0xc2, 0x80, 0xdf, 0xbf, 0xe0, 0xa0, 0x80, 0xed, 0x9f, 0xbf, 0xee, 0x80, 0x80, 0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbf, 0xf0, 0x90, 0x80, 0x80, 0xf4, 0x8f, 0xbf, 0xbf] },
        // Emoji U+1F600 between ASCII.
        { "emoji", [0x61, 0xf0, 0x9f, 0x98, 0x80, 0x62] },
        // Only 4-byte sequences, so cuts land inside them most of the time.
        { "4-byte run", [0xf0, 0x9f, 0x98, 0x80, 0xf0, 0x9f, 0x98, 0x81, 0xf4, 0x8f, 0xbf, 0xbf] },
        // Long enough for the vectorized validator path.
        { "long mixed", Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("abc\u00e9\u20ac\U0001F600", 20))) },
    };

    [Theory]
    [MemberData(nameof(ValidTexts))]
    public void Append_ValidTextWhole_AcceptsAndIsComplete(string name, byte[] text)
    {
        _ = name;
        var validator = default(Utf8MessageValidator);

        Assert.True(validator.Append(text));
        Assert.True(validator.IsComplete);
        Assert.True(Utf8MessageValidator.IsValid(text));
        Assert.True(Utf8MessageValidator.IsValid(Shapes.InsideLargerArray(text)));
    }

    [Theory]
    [MemberData(nameof(ValidTexts))]
    public void Append_ValidTextSplitAtEveryOffset_AcceptsAndIsComplete(string name, byte[] text)
    {
        _ = name;
        for (int split = 0; split <= text.Length; split++)
        {
            var validator = default(Utf8MessageValidator);

            Assert.True(validator.Append(text.AsSpan(0, split)), $"first part, split {split}");
            Assert.True(validator.Append(text.AsSpan(split)), $"second part, split {split}");
            Assert.True(validator.IsComplete, $"split {split}");
        }
    }

    [Theory]
    [MemberData(nameof(ValidTexts))]
    public void Append_ValidTextSplitAtEveryPairOfOffsets_AcceptsAndIsComplete(string name, byte[] text)
    {
        _ = name;
        int max = Math.Min(text.Length, 40);
        for (int a = 0; a <= max; a++)
        {
            for (int b = a; b <= max; b++)
            {
                var validator = default(Utf8MessageValidator);

                Assert.True(validator.Append(text.AsSpan(0, a)));
                Assert.True(validator.Append(text.AsSpan(a, b - a)));
                Assert.True(validator.Append(text.AsSpan(b)));
                Assert.True(validator.IsComplete, $"splits {a},{b}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(ValidTexts))]
    public void Append_ValidTextOneBytePerFragment_AcceptsAndIsComplete(string name, byte[] text)
    {
        _ = name;
        var validator = default(Utf8MessageValidator);
        for (int i = 0; i < text.Length; i++)
        {
            Assert.True(validator.Append(text.AsSpan(i, 1)), $"byte {i}");
            Assert.True(validator.Append(ReadOnlySpan<byte>.Empty), $"empty after byte {i}");
        }

        Assert.True(validator.IsComplete);
    }

    // Invalid text and the index of the first byte that makes it invalid (-1: only the end of the message does).
    public static TheoryData<string, byte[], int> InvalidTexts => new()
    {
        // Lone continuation byte.
        { "lone continuation", [0x61, 0x80, 0x62], 1 },
        // Overlong '/' in 2 bytes (C0 AF), C0/C1 never valid.
        { "overlong 2-byte C0", [0xc0, 0xaf], 0 },
        { "overlong 2-byte C1", [0xc1, 0xbf], 0 },
        // Overlong '/' in 3 bytes (E0 80 AF): E0 needs A0..BF next.
        { "overlong 3-byte", [0xe0, 0x80, 0xaf], 1 },
        // Overlong U+FFFF in 4 bytes (F0 8F BF BF): F0 needs 90..BF next.
        { "overlong 4-byte", [0xf0, 0x8f, 0xbf, 0xbf], 1 },
        // UTF-16 surrogates U+D800 (ED A0 80) and U+DFFF (ED BF BF).
        { "high surrogate", [0x61, 0xed, 0xa0, 0x80], 2 },
        { "low surrogate", [0xed, 0xbf, 0xbf], 1 },
        // Surrogate pair U+D83D U+DE00 encoded separately (CESU-8).
        { "cesu pair", [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80], 1 },
        // U+110000 (F4 90 80 80): above U+10FFFF.
        { "above 10FFFF", [0xf4, 0x90, 0x80, 0x80], 1 },
        // F5..FF are never valid lead bytes.
        { "lead F5", [0xf5, 0x80, 0x80, 0x80], 0 },
        { "lead F8", [0xf8, 0x88, 0x80, 0x80, 0x80], 0 },
        { "byte FE", [0x61, 0xfe], 1 },
        { "byte FF", [0xff], 0 },
        // 3-byte sequence with an ASCII byte in place of a continuation.
        { "bad continuation", [0xe2, 0x28, 0xa1], 1 },
        // 4-byte sequence cut by ASCII after 3 bytes.
        { "short 4-byte", [0xf0, 0x9f, 0x98, 0x41], 3 },
        // Autobahn 6.4.1: "κόσμε" then U+D800 (the surrogate) then "edited": fail fast at the ED A0.
        { "autobahn 6.4", [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64], 12 },
        // Autobahn 6.4.2: U+110000 after "κόσμε".
        { "autobahn 6.4.2", [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4, 0x90, 0x80, 0x80, 0x65], 12 },
        // Message ends inside a sequence: € (E2 82 AC) without its last byte.
        { "truncated 3-byte", [0x61, 0xe2, 0x82], -1 },
        // Message ends after a 4-byte lead only.
        { "truncated 4-byte", [0xf0], -1 },
        // Message ends after 3 of 4 bytes.
        { "truncated 4-byte 3", [0xf0, 0x9f, 0x98], -1 },
    };

    [Theory]
    [MemberData(nameof(InvalidTexts))]
    public void Append_InvalidTextWhole_RejectsOrIsIncomplete(string name, byte[] text, int failAt)
    {
        _ = name;
        var validator = default(Utf8MessageValidator);

        bool accepted = validator.Append(text);

        Assert.False(accepted && validator.IsComplete);
        Assert.Equal(failAt < 0, accepted);
        Assert.False(Utf8MessageValidator.IsValid(text));
    }

    [Theory]
    [MemberData(nameof(InvalidTexts))]
    public void Append_InvalidTextSplitAtEveryOffset_Rejects(string name, byte[] text, int failAt)
    {
        _ = name;
        for (int split = 0; split <= text.Length; split++)
        {
            var validator = default(Utf8MessageValidator);

            bool first = validator.Append(text.AsSpan(0, split));
            bool second = first && validator.Append(text.AsSpan(split));

            Assert.False(second && validator.IsComplete, $"split {split}");
            if (failAt >= 0)
            {
                // The part that holds the offending byte is the one refused.
                Assert.Equal(failAt >= split, first);
                Assert.False(second, $"split {split}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(InvalidTexts))]
    public void Append_InvalidTextOneBytePerFragment_FailsAtTheOffendingByte(string name, byte[] text, int failAt)
    {
        _ = name;
        var validator = default(Utf8MessageValidator);
        for (int i = 0; i < text.Length; i++)
        {
            bool accepted = validator.Append(text.AsSpan(i, 1));
            if (i == failAt)
            {
                Assert.False(accepted, $"byte {i} must fail");
                return;
            }

            Assert.True(accepted, $"byte {i} must pass");
        }

        Assert.Equal(-1, failAt);
        Assert.False(validator.IsComplete);
    }

    [Fact]
    public void Append_RandomBytesRandomlyChunked_AgreesWithWholeValidation()
    {
        var random = new Random(3629);
        byte[] alphabet = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff];
        for (int round = 0; round < 20000; round++)
        {
            byte[] text = new byte[random.Next(0, 12)];
            for (int i = 0; i < text.Length; i++)
            {
                text[i] = alphabet[random.Next(alphabet.Length)];
            }

            var validator = default(Utf8MessageValidator);
            bool ok = true;
            int at = 0;
            while (ok && at < text.Length)
            {
                int take = random.Next(0, text.Length - at + 1);
                ok = validator.Append(text.AsSpan(at, take));
                at += take;
            }

            Assert.True(Utf8MessageValidator.IsValid(text) == (ok && validator.IsComplete), Convert.ToHexString(text));
        }
    }

    [Fact]
    public void Reset_AfterIncompleteSequence_ForgetsPendingBytes()
    {
        var validator = default(Utf8MessageValidator);
        // € without its last byte.
        Assert.True(validator.Append([0xe2, 0x82]));
        Assert.False(validator.IsComplete);

        validator.Reset();

        Assert.True(validator.IsComplete);
        Assert.True(validator.Append("A"u8));
        Assert.True(validator.IsComplete);
    }
}
