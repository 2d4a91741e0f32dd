using System.Buffers;

namespace Gateway.Protocol.EngineIO;

/// <summary>
/// Engine.IO v4 HTTP long-polling payload: packets joined by the record separator <c>\x1e</c>
/// (<c>4hello\x1e4world\x1ebAQID</c>). The body is text; binary packets are base64 records.
/// </summary>
public static class EngineIOPollingPayload
{
    public const byte RecordSeparator = 0x1E;

    /// <summary>Enumerates the records of a complete payload without allocating.</summary>
    public static RecordEnumerator Split(ReadOnlySpan<byte> payload) => new(payload);

    /// <summary>Joins records: writes the separator before every record but the first.</summary>
    public static void AppendRecord(IBufferWriter<byte> writer, ReadOnlySpan<byte> record, bool first)
    {
        int length = record.Length + (first ? 0 : 1);
        Span<byte> span = writer.GetSpan(length);
        if (!first)
        {
            span[0] = RecordSeparator;
            span = span.Slice(1);
        }

        record.CopyTo(span);
        writer.Advance(length);
    }

    /// <summary>Allocation-free enumerator over the records of a payload.</summary>
    public ref struct RecordEnumerator
    {
        private ReadOnlySpan<byte> _remaining;
        private bool _done;

        internal RecordEnumerator(ReadOnlySpan<byte> payload)
        {
            _remaining = payload;
            _done = payload.IsEmpty;
            Current = default;
        }

        public ReadOnlySpan<byte> Current { get; private set; }

        public readonly RecordEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_done)
            {
                return false;
            }

            int index = _remaining.IndexOf(RecordSeparator);
            if (index < 0)
            {
                Current = _remaining;
                _remaining = default;
                _done = true;
            }
            else
            {
                Current = _remaining.Slice(0, index);
                _remaining = _remaining.Slice(index + 1);
            }

            return true;
        }
    }
}
