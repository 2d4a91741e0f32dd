using System.IO.Pipelines;
using Gateway.Output;
using Gateway.Protocol;
using Gateway.Protocol.Buffers;
using Gateway.Protocol.EngineIO;
using Gateway.Protocol.WebSockets;
using Gateway.Time;

namespace Gateway.EngineIO;

internal sealed partial class EngineSession
{
    private static ReadOnlySpan<byte> TextPlain => "text/plain; charset=UTF-8"u8;

    /// <summary>The outcome of a polling request, for the HTTP loop.</summary>
    public enum PollOutcome
    {
        Answered,
        Parked,
        /// <summary>Answer with 400 "Bad request" (the session is gone).</summary>
        BadRequest,
    }

    /// <summary>A GET on this session: answer now with what is queued, or hold it until something is.</summary>
    public PollOutcome OnPollRequest(IPollingRequest http)
    {
        lock (this)
        {
            if (_closed || _isWebSocket)
            {
                return PollOutcome.BadRequest;
            }

            if (_parkedPoll is not null)
            {
                // engine.io: "overlap from client" is an error that closes the session; the held GET gets "1".
                CloseLocked(CloseReason.PollOverlap, clientInitiated: false, WebSocketCloseCode.NormalClosure, sendClose: true);
                return PollOutcome.BadRequest;
            }

            if (_pollQueue!.WrittenCount > 0)
            {
                AnswerPollLocked(http);
                return PollOutcome.Answered;
            }

            if (_probing is not null)
            {
                // An upgrade is waiting for this poll to end (engine.io's "noop for fast upgrade").
                WriteTextPacketLocked(EngineIOPacketType.Noop, default);
                RespondToPollLocked(http);
                return PollOutcome.Answered;
            }

            _parkedPoll = http;
            http.ParkedFor = this;
            return PollOutcome.Parked;
        }
    }

    /// <summary>The TCP connection holding our GET went away: engine.io treats that as a transport error.</summary>
    public void OnPollConnectionClosed(IPollingRequest http)
    {
        lock (this)
        {
            if (_parkedPoll != http)
            {
                return;
            }

            _parkedPoll = null;
            http.ParkedFor = null;
            if (!_closed && !_isWebSocket && _probing is null)
            {
                CloseLocked(CloseReason.PollClosedPrematurely, clientInitiated: true, WebSocketCloseCode.NormalClosure, sendClose: false);
            }
        }
    }

    /// <summary>
    /// Answers a GET with what is queued. A peer that sends GETs and does not read their answers piles them up in its
    /// connection: past MaxOutboundBytes it is a slow consumer, and that connection is ended too.
    /// </summary>
    private void AnswerPollLocked(IPollingRequest http)
    {
        RespondToPollLocked(http);
        if (http.IsOverCap(Options.MaxOutboundBytes))
        {
            SlowConsumerLocked(OverCap);
            http.Abort();
        }
    }

    private void RespondToPollLocked(IPollingRequest http)
    {
        if (_parkedPoll == http)
        {
            _parkedPoll = null;
            http.ParkedFor = null;
        }

        PooledBufferWriter queue = _pollQueue!;
        http.Respond(200, TextPlain, queue.WrittenSpan);
        // Keep a small buffer for the next records; give big ones back.
        queue.Reset(keepAtMost: 16 * 1024);
    }

    /// <summary>
    /// A POST's head arrived on <paramref name="http"/> and its body has not yet: the data request is in progress
    /// until <see cref="OnPollData"/>. False when another one already is: an overlap, which closed the session.
    /// </summary>
    public bool TryBeginDataRequest(IPollingRequest http)
    {
        lock (this)
        {
            if (_closed || _isWebSocket || _dataRequest == http)
            {
                return true; // answered when the body is complete
            }

            if (_dataRequest is not null)
            {
                DataRequestOverlapLocked();
                return false;
            }

            _dataRequest = http;
            http.DataFor = this;
            return true;
        }
    }

    /// <summary>The connection of a data request in progress went away before its body was complete.</summary>
    public void OnDataConnectionClosed(IPollingRequest http)
    {
        lock (this)
        {
            if (_dataRequest == http)
            {
                _dataRequest = null;
                http.DataFor = null;
            }
        }
    }

    // engine.io (polling.ts onDataRequest): "data request overlap from client" is an error that closes the session;
    // the second request gets 400, the one in progress is destroyed (its connection ends without an answer).
    private void DataRequestOverlapLocked()
    {
        IPollingRequest? inProgress = _dataRequest;
        _dataRequest = null;
        if (inProgress is not null)
        {
            inProgress.DataFor = null;
        }

        CloseLocked(CloseReason.PollOverlap, clientInitiated: false, WebSocketCloseCode.NormalClosure, sendClose: true);
        inProgress?.Abort();
    }

    /// <summary>A POST body: one or more records. Answers 200 "ok" unless the body is bad.</summary>
    public PollOutcome OnPollData(IPollingRequest http, ReadOnlySpan<byte> body)
    {
        lock (this)
        {
            if (_closed || _isWebSocket)
            {
                return PollOutcome.BadRequest;
            }

            if (_dataRequest is not null && _dataRequest != http)
            {
                DataRequestOverlapLocked();
                return PollOutcome.BadRequest;
            }

            if (_dataRequest == http)
            {
                _dataRequest = null;
                http.DataFor = null;
            }

            PooledBufferWriter? decoded = null;
            try
            {
                foreach (ReadOnlySpan<byte> record in EngineIOPollingPayload.Split(body))
                {
                    if (_closed)
                    {
                        break;
                    }

                    if (!record.IsEmpty && record[0] == EngineIOPacket.BinaryPrefix)
                    {
                        decoded ??= new PooledBufferWriter(256);
                        decoded.Reset();
                        if (EngineIOPacket.TryDecodeBase64(record.Slice(1), decoded) != ProtocolError.None)
                        {
                            FailLocked(ProtocolError.InvalidBase64);
                            return PollOutcome.BadRequest;
                        }

                        OnBinaryMessageLocked(decoded.WrittenSpan);
                    }
                    else if (!OnTextMessageLocked(record))
                    {
                        return PollOutcome.BadRequest;
                    }
                }
            }
            finally
            {
                decoded?.Dispose();
            }

            CommitLocked();
            return _closed && !_closedByClientPacket ? PollOutcome.BadRequest : PollOutcome.Answered;
        }
    }

    // ---- Upgrade (polling → WebSocket) --------------------------------------------------------------------------

    /// <summary>Whether a WebSocket may start probing this session.</summary>
    public bool TryBeginProbe(IUpgradeProbe probe)
    {
        lock (this)
        {
            if (_closed || _isWebSocket || _probing is not null)
            {
                return false;
            }

            _probing = probe;
            _probeAt = _runtime.Wheel.Now;
            // The session's own wheel entry is due at its next heartbeat (PingInterval, 25 s by default), later than
            // UpgradeTimeout; and an entry cannot be moved once in the wheel: the deadline gets an entry of its own.
            _runtime.Wheel.Schedule(new ProbeDeadline(this, probe), _probeAt + Options.UpgradeTimeout);
            return true;
        }
    }

    /// <summary>
    /// Ends a probe that has not sent "5" within <c>UpgradeTimeout</c> (engine.io's upgradeTimeout). One per probe
    /// (a cold path); it holds the session and probe at most that long.
    /// </summary>
    private sealed class ProbeDeadline(EngineSession session, IUpgradeProbe probe) : WheelEntry
    {
        protected internal override long OnTimer(long now)
        {
            session.AbortUpgrade(probe); // nothing when the upgrade completed or ended meanwhile
            return -1;
        }
    }

    /// <summary>"2probe" arrived on the probing socket: it answers "3probe"; the held poll ends with a noop.</summary>
    public void OnProbe(IUpgradeProbe probe)
    {
        lock (this)
        {
            if (_probing != probe || _closed)
            {
                return;
            }

            if (_parkedPoll is not null && _pollQueue!.WrittenCount == 0)
            {
                WriteTextPacketLocked(EngineIOPacketType.Noop, default);
                RespondToPollLocked(_parkedPoll);
            }
        }
    }

    /// <summary>"5" arrived: the WebSocket becomes the transport; what was queued for polling moves onto it.</summary>
    public bool CompleteUpgrade(IUpgradeProbe probe, ConnectionOutput output, PipeReader input)
    {
        lock (this)
        {
            if (_probing != probe || _closed)
            {
                return false;
            }

            _probing = null;
            PooledBufferWriter queue = _pollQueue!;
            _pollQueue = null;
            EndParkedPollForUpgradeLocked();
            _isWebSocket = true;
            _ws = output;
            output.TransferTo(this);
            _wsInput = input;
            // Still addressable by sid (until closed), as engine.io: a poll now gets "Bad request" (transport
            // mismatch) and a second upgrade is accepted, then closed.
            _runtime.Metrics.SessionUpgraded();
            ReleaseAddressLocked();

            WritePollingRecordsAsMessagesLocked(queue.WrittenSpan);
            queue.Dispose();
            PumpLocked(_runtime.SharedTally);
            FlushLocked();
            return true;
        }
    }

    /// <summary>The upgrade completes: a held GET ends with a noop (the client's polling transport pauses on it).</summary>
    private void EndParkedPollForUpgradeLocked()
    {
        if (_parkedPoll is not null)
        {
            IPollingRequest parked = _parkedPoll;
            _parkedPoll = null;
            parked.ParkedFor = null;
            parked.Respond(200, TextPlain, "6"u8);
        }
    }

    /// <summary>Re-encodes queued polling records as WebSocket messages (a cold path: once per upgrade or handover).</summary>
    private void WritePollingRecordsAsMessagesLocked(ReadOnlySpan<byte> records)
    {
        var decoded = new PooledBufferWriter(0);
        foreach (ReadOnlySpan<byte> record in EngineIOPollingPayload.Split(records))
        {
            if (!record.IsEmpty && record[0] == EngineIOPacket.BinaryPrefix)
            {
                decoded.Reset();
                if (EngineIOPacket.TryDecodeBase64(record.Slice(1), decoded) == ProtocolError.None)
                {
                    WriteWebSocketMessageLocked(WebSocketOpcode.Binary, decoded.WrittenSpan);
                }
            }
            else if (!record.IsEmpty)
            {
                WriteWebSocketMessageLocked(WebSocketOpcode.Text, record);
            }
        }

        decoded.Dispose();
    }

    /// <summary>The probing socket went away or misbehaved: the session stays on polling.</summary>
    public void AbortUpgrade(IUpgradeProbe probe)
    {
        lock (this)
        {
            if (_probing == probe)
            {
                AbortUpgradeLocked();
            }
        }
    }

    private void AbortUpgradeLocked()
    {
        IUpgradeProbe? probe = _probing;
        _probing = null;
        probe?.CloseProbe();
    }
}
