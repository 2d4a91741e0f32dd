using Gateway.Broadcast;
using Gateway.Prompts;
using Gateway.Recovery;
using StackExchange.Redis;
using StreamPosition = Gateway.Prompts.StreamPosition;

namespace Gateway.Redis;

/// <summary>
/// Connection-state recovery's selection: it knows what was delivered (and what is still held), so it can tell
/// exactly what a recovering socket missed from a scan of the stream.
/// </summary>
internal sealed partial class StreamDelivery
{
    /// <summary>
    /// Entries a recovery scan reads at most: a replay's worth (<c>Recovery:MaxReplay</c>) plus room for those it skips
    /// (other namespaces and channels, held entries, duplicates). A scan that fills it answers <c>recovered: false</c>.
    /// </summary>
    public int ReplayScanLimit => _options.Recovery.MaxReplay + 10_000;

    /// <summary>
    /// Where the scan for <paramref name="request"/> (which has its <see cref="PendingRecovery.Record"/>) starts: from
    /// its offset, or from where it joined, less the reveal horizon — held entries written before that instant may
    /// be revealed after it. The scan ends at <see cref="Cursor"/>.
    /// </summary>
    public StreamId ReplayScanFrom(PendingRecovery request)
    {
        long from = request.Offset is StreamId offset ? offset.Ms : request.Record!.V;
        return new StreamId(Math.Max(0, from - _options.Redis.MaxRevealAhead), 0);
    }

    /// <summary>
    /// What the recovering socket missed, from <paramref name="scan"/> (the stream from
    /// <see cref="ReplayScanFrom"/> to <see cref="Cursor"/>), or null when that cannot be known exactly
    /// (<c>recovered: false</c>). <paramref name="retry"/>: not known yet, ask again after the next round.
    /// <paramref name="decoded"/> and <paramref name="encoded"/> are caches shared by the requests of one batch.
    /// </summary>
    public RecoveredState? Replay(PendingRecovery request, StreamEntry[] scan,
        Dictionary<StreamId, StreamPrompt?> decoded, Dictionary<(StreamId, int), PromptFrames> encoded, out bool retry)
    {
        retry = false;
        if (request.Record is not { } record || record.Ns != _context.NamespaceNames[request.NamespaceIndex])
        {
            return null; // no record, or one of another namespace
        }

        if (scan.Length >= ReplayScanLimit)
        {
            return null; // more history than a replay may hold
        }

        if (request.OffsetText is not null && request.Offset is null)
        {
            return null; // not an offset this region issued
        }

        StreamPosition start;
        if (request.Offset is StreamId offset)
        {
            if (offset > _cursor)
            {
                retry = true; // another gateway delivered it already; this one reads it next round
                return null;
            }

            StreamPrompt? known = null;
            foreach (StreamEntry raw in scan)
            {
                if (raw.Id.ToString() == request.OffsetText)
                {
                    known = DecodeCached(raw, decoded);
                    break;
                }
            }

            if (known is null)
            {
                return null; // trimmed away (or never ours): the gap cannot be filled
            }

            start = known.Position;
        }
        else
        {
            start = record.Position;
            if (_maxDeleted > start.Id)
            {
                return null;
            }
        }

        var channels = new HashSet<string>(record.Ch, StringComparer.Ordinal);
        if (request.AuthChannels is not null)
        {
            channels.UnionWith(request.AuthChannels);
        }

        var missed = new List<StreamPrompt>();
        var seenInScan = new HashSet<string>(StringComparer.Ordinal);
        foreach (StreamEntry raw in scan)
        {
            StreamPrompt? entry = DecodeCached(raw, decoded);
            if (entry is null)
            {
                continue;
            }

            bool first = _delivered.TryGetValue(entry.Prompt.Id, out StreamId firstId) ? firstId == entry.StreamId : !seenInScan.Contains(entry.Prompt.Id);
            seenInScan.Add(entry.Prompt.Id);
            if (!first || entry.Position <= start || _heldIds.Contains(entry.StreamId) || entry.NamespaceIndex != request.NamespaceIndex)
            {
                continue;
            }

            if (entry.Prompt.Channel is string channel && !channels.Contains(channel))
            {
                continue;
            }

            missed.Add(entry);
        }

        if (missed.Count > _options.Recovery.MaxReplay)
        {
            return null;
        }

        missed.Sort(static (a, b) => a.Position.CompareTo(b.Position));
        var frames = new List<PromptFrames>(missed.Count);
        long bytes = 0;
        foreach (StreamPrompt entry in missed)
        {
            if (!encoded.TryGetValue((entry.StreamId, entry.NamespaceIndex), out PromptFrames? frame))
            {
                frame = entry.Encode(_context.Broadcaster, _offsets);
                encoded[(entry.StreamId, entry.NamespaceIndex)] = frame;
            }

            // More than a socket may have queued (MaxOutboundBytes) would make it a slow consumer at once: a gap too
            // large to fill, as one of more than MaxReplay prompts.
            bytes += frame.WebSocketFrame.Length;
            if (bytes > _options.MaxOutboundBytes)
            {
                return null;
            }

            frames.Add(frame);
        }

        return new RecoveredState(record.Sid, request.Pid, channels.ToList(), frames);
    }

    private StreamPrompt? DecodeCached(StreamEntry raw, Dictionary<StreamId, StreamPrompt?> decoded)
    {
        if (!StreamId.TryParse(raw.Id.ToString(), out StreamId id))
        {
            return null;
        }

        if (!decoded.TryGetValue(id, out StreamPrompt? entry))
        {
            entry = Decode(raw);
            decoded[id] = entry;
        }

        return entry;
    }
}
