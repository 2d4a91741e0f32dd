using System.Text.Json;
using Gateway.Broadcast;
using Gateway.Prompts;
using Gateway.Recovery;
using StackExchange.Redis;
using StreamPosition = Gateway.Prompts.StreamPosition;

namespace Gateway.Redis;

/// <summary>
/// Connection-state recovery, served on the reader's loop: it knows what was delivered (and what is still held), so
/// it can tell exactly what a recovering socket missed.
/// </summary>
internal sealed partial class PromptStreamReader
{
    private void FailPendingRecoveries()
    {
        while (_recoveries.TryDequeue(out PendingRecovery? request))
        {
            _context.Metrics.Recovery(false);
            request.Complete(null);
        }
    }

    private async Task ProcessRecoveriesAsync(IDatabase db, RedisKey key)
    {
        if (_recoveries.IsEmpty)
        {
            return;
        }

        var batch = new List<PendingRecovery>();
        while (batch.Count < 5000 && _recoveries.TryDequeue(out PendingRecovery? request))
        {
            batch.Add(request);
        }

        // The session records, taken (GETDEL: a pid recovers once), pipelined.
        var records = new Task<RedisValue>[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            records[i] = batch[i].Record is null ? _sessions.TakeRecordAsync(db, batch[i].Pid) : Task.FromResult(RedisValue.Null);
        }

        await Task.WhenAll(records).ConfigureAwait(false);
        for (int i = 0; i < batch.Count; i++)
        {
            batch[i].Record ??= SessionRecord.TryParse(records[i].Result);
        }

        await RecoverFromSignedPidsAsync(db, batch).ConfigureAwait(false);
        var scans = new Dictionary<StreamId, Task<StreamEntry[]>>();
        long horizon = _options.Redis.MaxRevealAhead;
        int maxReplay = _options.Recovery.MaxReplay;
        for (int i = 0; i < batch.Count; i++)
        {
            PendingRecovery request = batch[i];
            if (request.Record is not null)
            {
                long from = request.Offset is StreamId offset ? offset.Ms : request.Record.V;
                var scanFrom = new StreamId(Math.Max(0, from - horizon), 0);
                if (!scans.ContainsKey(scanFrom))
                {
                    // Held entries written before the start may be revealed after it: look back by the reveal horizon.
                    scans[scanFrom] = db.StreamRangeAsync(key, minId: scanFrom.ToString(), maxId: _cursor.ToString(), count: maxReplay + 10_000);
                }
            }
        }

        await Task.WhenAll(scans.Values).ConfigureAwait(false);
        var decoded = new Dictionary<StreamId, StreamPrompt?>();
        var encoded = new Dictionary<(StreamId, int), PromptFrames>();
        foreach (PendingRecovery request in batch)
        {
            if (request.WaitingForInstance)
            {
                request.WaitingForInstance = false;
                _recoveries.Enqueue(request);
                continue;
            }

            RecoveredState? state = null;
            bool retry = false;
            if (request.Record is { } record && record.Ns == _context.NamespaceNames[request.NamespaceIndex])
            {
                long from = request.Offset is StreamId offset ? offset.Ms : record.V;
                StreamEntry[] scan = scans[new StreamId(Math.Max(0, from - horizon), 0)].Result;
                state = Replay(request, record, scan, maxReplay + 10_000, decoded, encoded, out retry);
            }

            if (retry && ++request.Attempts < RecoveryAttempts)
            {
                _recoveries.Enqueue(request);
                continue;
            }

            _context.Metrics.Recovery(state is not null);
            request.Complete(state);
        }
    }

    /// <summary>
    /// No session record: the socket's gateway died without writing one (a crash). A pid it signed and that gateway's
    /// last heartbeat within MaxDisconnection are enough: the socket resumes from its offset (or, having had no prompt
    /// yet, from where it joined, which the pid carries) with the channels of its auth payload plus those it joined
    /// by event (kept in Redis by pid, see <see cref="SessionStore.SaveChannels"/>). Each pid is claimed once.
    /// </summary>
    private async Task RecoverFromSignedPidsAsync(IDatabase db, List<PendingRecovery> batch)
    {
        var lastSeen = new Task<long>?[batch.Count];
        var eventChannels = new Task<RedisValue>?[batch.Count];
        var signed = new SignedPid[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            PendingRecovery request = batch[i];
            if (request.Record is null && _signer.TryRead(request.Pid, _context.NamespaceNames[request.NamespaceIndex], out signed[i]))
            {
                lastSeen[i] = _liveness.InstanceLastSeenAsync(db, signed[i].Instance);
                eventChannels[i] = db.StringGetAsync(_sessions.ChannelsKey(request.Pid));
            }
        }

        if (Array.TrueForAll(lastSeen, t => t is null))
        {
            return;
        }

        long now = NowMs();
        var claims = new Task<bool>?[batch.Count];
        var channels = new string[]?[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            if (lastSeen[i] is not { } seen)
            {
                continue;
            }

            long at = await seen.ConfigureAwait(false);
            RedisValue saved = await eventChannels[i]!.ConfigureAwait(false);
            // No saved channels: none joined by event — unless the pid is older than they are kept (then unknown).
            channels[i] = saved.IsNull
                ? now - signed[i].IssuedAtMs < SessionStore.ChannelsLifetime.TotalMilliseconds - 60_000 ? [] : null
                : ParseChannels(saved);
            if (channels[i] is null)
            {
                continue;
            }

            if (at > 0 && now - at <= _options.Recovery.MaxDisconnection)
            {
                claims[i] = _sessions.ClaimPidAsync(db, batch[i].Pid);
            }
            else if (at < 0 && now - batch[i].RequestedAt < 6 * RegionLiveness.HeartbeatMs)
            {
                // Its gateway still beats: a crash a moment ago looks like this until the heartbeats stop.
                batch[i].WaitingForInstance = true;
            }
        }

        for (int i = 0; i < batch.Count; i++)
        {
            if (claims[i] is { } claim && await claim.ConfigureAwait(false))
            {
                StreamPosition joined = signed[i].Joined;
                batch[i].Record = new SessionRecord(signed[i].Sid, _context.NamespaceNames[batch[i].NamespaceIndex], joined.VisibleAt, joined.Id.ToString(), channels[i]!);
            }
        }
    }

    private static string[]? ParseChannels(RedisValue json)
    {
        try
        {
            string[]? channels = JsonSerializer.Deserialize<string[]>((string)json!);
            return channels is not null && Array.TrueForAll(channels, c => c is not null) ? channels : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>What the recovering socket missed, or null when that cannot be known exactly (recovered: false).</summary>
    private RecoveredState? Replay(PendingRecovery request, SessionRecord record, StreamEntry[] scan, int scanLimit,
        Dictionary<StreamId, StreamPrompt?> decoded, Dictionary<(StreamId, int), PromptFrames> encoded, out bool retry)
    {
        retry = false;
        if (scan.Length >= scanLimit)
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
        foreach (StreamPrompt entry in missed)
        {
            if (!encoded.TryGetValue((entry.StreamId, entry.NamespaceIndex), out PromptFrames? frame))
            {
                using JsonDocument data = JsonDocument.Parse(entry.Prompt.Data);
                frame = _context.Broadcaster.Encode(entry.NamespaceIndex, entry.Prompt.Event, data.RootElement, _offsets ? entry.RawId : null);
                encoded[(entry.StreamId, entry.NamespaceIndex)] = frame;
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
