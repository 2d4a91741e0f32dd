using Gateway.Prompts;
using Gateway.Redis;
using Gateway.Streams;
using StackExchange.Redis;

namespace Gateway.Tests.Redis;

/// <summary>
/// A region's prompt stream in memory, with the bookkeeping <c>XINFO STREAM</c> reports: what the in-process tests
/// feed a <see cref="StreamDelivery"/> instead of a redis-server. Ids are given by the test (<c>XADD key ms-seq …</c>).
/// </summary>
internal sealed class RecordedStream
{
    private readonly List<StreamEntry> _entries = [];

    public long EntriesAdded { get; private set; }

    public StreamId LastGenerated { get; private set; }

    public StreamId MaxDeleted { get; private set; }

    /// <summary>What the reader's <c>XINFO STREAM</c> would return.</summary>
    public StreamBookkeeping Bookkeeping => new(EntriesAdded, LastGenerated, MaxDeleted);

    /// <summary>The entry as XREAD returns it: its id and the contract's fields (<see cref="PromptEntry.ToFields"/>).</summary>
    public static StreamEntry Entry(StreamId id, PromptEntry prompt) => new(id.ToString(), prompt.ToFields());

    /// <summary><c>XADD</c> with an explicit id, which must be above the last one (as Redis requires).</summary>
    public StreamEntry Add(StreamId id, PromptEntry prompt) => Add(Entry(id, prompt));

    public StreamEntry Add(StreamEntry entry)
    {
        StreamId id = StreamId.Parse(entry.Id.ToString());
        Assert.True(id > LastGenerated, $"XADD {id}: ids must grow (last {LastGenerated})");
        _entries.Add(entry);
        LastGenerated = id;
        EntriesAdded++;
        return entry;
    }

    /// <summary><c>XTRIM … MINID</c>: deletes every entry up to and including <paramref name="through"/>.</summary>
    public void TrimThrough(StreamId through)
    {
        _entries.RemoveAll(e => StreamId.Parse(e.Id.ToString()) <= through);
        if (through > MaxDeleted)
        {
            MaxDeleted = through;
        }
    }

    /// <summary><c>XREAD COUNT n STREAMS key cursor</c>: the entries after <paramref name="cursor"/>.</summary>
    public StreamEntry[] ReadAfter(StreamId cursor, int count = 1000) =>
        _entries.Where(e => StreamId.Parse(e.Id.ToString()) > cursor).Take(count).ToArray();

    /// <summary><c>XRANGE key min max COUNT n</c>.</summary>
    public StreamEntry[] Range(StreamId min, StreamId max, int count) =>
        _entries.Where(e => StreamId.Parse(e.Id.ToString()) is var id && id >= min && id <= max).Take(count).ToArray();
}
