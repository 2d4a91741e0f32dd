using System.Text.Unicode;

namespace Gateway.Protocol.WebSockets;

/// <summary>
/// Validates UTF-8 incrementally across the fragments of one text message (RFC 6455 §8.1), failing as soon as a
/// byte makes the text invalid.
/// </summary>
public struct Utf8MessageValidator
{
    // Up to 3 bytes of a sequence cut at a fragment boundary, packed low byte first.
    private uint _pending;
    private int _pendingCount;

    public void Reset()
    {
        _pending = 0;
        _pendingCount = 0;
    }

    /// <summary>Feeds the next chunk of the message. False as soon as the text so far cannot be valid.</summary>
    public bool Append(ReadOnlySpan<byte> data)
    {
        if (_pendingCount > 0)
        {
            Span<byte> sequence = stackalloc byte[4];
            for (int k = 0; k < _pendingCount; k++)
            {
                sequence[k] = (byte)(_pending >> (8 * k));
            }

            int needed = SequenceLength(sequence[0]);
            int take = Math.Min(needed - _pendingCount, data.Length);
            data.Slice(0, take).CopyTo(sequence.Slice(_pendingCount));
            int have = _pendingCount + take;
            data = data.Slice(take);
            if (have < needed)
            {
                if (!IsValidPrefix(sequence.Slice(0, have)))
                {
                    return false;
                }

                Store(sequence.Slice(0, have));
                return true;
            }

            if (!Utf8.IsValid(sequence.Slice(0, needed)))
            {
                return false;
            }

            _pending = 0;
            _pendingCount = 0;
        }

        int tail = IncompleteTailStart(data);
        if (!Utf8.IsValid(data.Slice(0, tail)))
        {
            return false;
        }

        ReadOnlySpan<byte> rest = data.Slice(tail);
        if (rest.IsEmpty)
        {
            return true;
        }

        if (!IsValidPrefix(rest))
        {
            return false;
        }

        Store(rest);
        return true;
    }

    /// <summary>True when the message may end here (no sequence left open).</summary>
    public readonly bool IsComplete => _pendingCount == 0;

    /// <summary>Validates a whole message (or close reason) at once.</summary>
    public static bool IsValid(ReadOnlySpan<byte> text) => Utf8.IsValid(text);

    private void Store(ReadOnlySpan<byte> bytes)
    {
        _pending = 0;
        for (int k = 0; k < bytes.Length; k++)
        {
            _pending |= (uint)bytes[k] << (8 * k);
        }

        _pendingCount = bytes.Length;
    }

    private static int SequenceLength(byte lead) =>
        lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;

    // Index where a sequence that is cut off at the end of the span begins, or the span length.
    private static int IncompleteTailStart(ReadOnlySpan<byte> data)
    {
        int stop = Math.Max(0, data.Length - 3);
        for (int i = data.Length - 1; i >= stop; i--)
        {
            byte b = data[i];
            if ((b & 0xC0) == 0x80)
            {
                continue; // continuation byte: keep looking for its lead
            }

            if (b >= 0xC0 && i + SequenceLength(b) > data.Length)
            {
                return i;
            }

            break;
        }

        return data.Length;
    }

    // RFC 3629 §4 ranges for a sequence that has not ended yet: reject what can never become valid.
    private static bool IsValidPrefix(ReadOnlySpan<byte> prefix)
    {
        byte lead = prefix[0];
        if (lead < 0xC2 || lead > 0xF4)
        {
            return false;
        }

        for (int k = 1; k < prefix.Length; k++)
        {
            if ((prefix[k] & 0xC0) != 0x80)
            {
                return false;
            }
        }

        if (prefix.Length >= 2)
        {
            byte second = prefix[1];
            switch (lead)
            {
                case 0xE0 when second < 0xA0:
                case 0xED when second > 0x9F:
                case 0xF0 when second < 0x90:
                case 0xF4 when second > 0x8F:
                    return false;
            }
        }

        return true;
    }
}
