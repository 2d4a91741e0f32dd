using System.Text.Json;
using Gateway.Broadcast;
using Gateway.Prompts;
using Gateway.Recovery;
using StackExchange.Redis;
using StreamPosition = Gateway.Prompts.StreamPosition;

namespace Gateway.Redis;

/// <summary>
/// Connection-state recovery, served on the reader's loop: this part takes the session records and verifies signed
/// pids, and scans the stream; the <see cref="StreamDelivery"/> knows what was delivered (and what is still held), so
/// it tells exactly what a recovering socket missed (<see cref="StreamDelivery.Replay"/>).
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
        for (int i = 0; i < batch.Count; i++)
        {
            PendingRecovery request = batch[i];
            if (request.Record is not null)
            {
                StreamId scanFrom = _delivery.ReplayScanFrom(request);
                if (!scans.ContainsKey(scanFrom))
                {
                    scans[scanFrom] = db.StreamRangeAsync(key, minId: scanFrom.ToString(), maxId: _delivery.Cursor.ToString(), count: _delivery.ReplayScanLimit);
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
            if (request.Record is not null)
            {
                state = _delivery.Replay(request, scans[_delivery.ReplayScanFrom(request)].Result, decoded, encoded, out retry);
            }

            if (retry && ++request.Attempts < RecoveryAttempts)
            {
                _recoveries.Enqueue(request);
                continue;
            }

            _context.Metrics.Recovery(state is not null);
            if (state is not null)
            {
                // This gateway holds the socket of this pid from now on.
                _sessions.SaveHolder(request.Pid, _signer.InstanceId);
            }

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
        var holders = new Task<RedisValue>?[batch.Count];
        var eventChannels = new Task<RedisValue>?[batch.Count];
        var signed = new SignedPid[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            PendingRecovery request = batch[i];
            if (request.Record is null && _signer.TryRead(request.Pid, _context.NamespaceNames[request.NamespaceIndex], out signed[i]))
            {
                holders[i] = db.StringGetAsync(_sessions.HolderKey(request.Pid));
                eventChannels[i] = db.StringGetAsync(_sessions.ChannelsKey(request.Pid));
            }
        }

        if (Array.TrueForAll(holders, t => t is null))
        {
            return;
        }

        // The gateway that held the socket last (it recovered or took it over), else the one that signed its pid.
        var lastSeen = new Task<long>?[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            if (holders[i] is { } holder)
            {
                RedisValue held = await holder.ConfigureAwait(false);
                lastSeen[i] = _liveness.InstanceLastSeenAsync(db, held.IsNullOrEmpty ? signed[i].Instance : held.ToString());
            }
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
}
