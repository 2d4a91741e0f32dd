using System.IO.Pipelines;
using Gateway.Identity;
using Gateway.Output;
using Gateway.Prompts;
using Gateway.Protocol.WebSockets;
using Gateway.Recovery;
using Gateway.SocketIO;

namespace Gateway.EngineIO;

/// <summary>
/// Handover between the gateways of a region: a polling session's WebSocket upgrade landed on another gateway, which
/// takes the session over — the session then lives where its WebSocket is. This gateway gives up the session's
/// state (<see cref="HandOver"/>); the other rebuilds it (<see cref="TakeOver"/>), its sockets restored as
/// recoveries whose records come with the state, so that each gets exactly the prompts this one had not given it.
/// </summary>
internal sealed partial class EngineSession
{
    // Completed once no CONNECT waits for a recovery any more (or the session closed): a handover waits for it.
    private TaskCompletionSource? _connectsSettled;

    /// <summary>
    /// Completes once no CONNECT of this session waits for its recovery (or the session closed): a taken-over session's
    /// sockets are all restored, and a session asked to hand itself over has its CONNECT replies queued.
    /// </summary>
    public Task ConnectsSettled()
    {
        lock (this)
        {
            return _closed || _pendingConnects is null || _pendingConnects.Count == 0
                ? Task.CompletedTask
                : (_connectsSettled ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    private void SignalConnectsSettledLocked()
    {
        if (_closed || _pendingConnects is null || _pendingConnects.Count == 0)
        {
            _connectsSettled?.TrySetResult();
            _connectsSettled = null;
        }
    }

    /// <summary>Whether this session can be handed over: Redis mode's recovery, prompts tracked by ring sequence.</summary>
    private bool CanHandOverLocked() =>
        _runtime.OffersRecovery && _runtime.Context.Tracker is not null && (_pendingConnects is null || _pendingConnects.Count == 0) && _pendingBinary is null;

    /// <summary>
    /// Another gateway's WebSocket probes this session (its "2probe" arrived there): as a local probe, a held poll ends
    /// with a noop. False when the session cannot be upgraded or handed over now.
    /// </summary>
    public bool TryBeginRemoteProbe(RemoteProbe probe)
    {
        lock (this)
        {
            if (!CanHandOverLocked())
            {
                return false;
            }
        }

        if (!TryBeginProbe(probe))
        {
            return false;
        }

        OnProbe(probe);
        return true;
    }

    /// <summary>The other gateway's probe ended without taking the session: it stays on polling here.</summary>
    public void AbortRemoteProbe()
    {
        lock (this)
        {
            if (_probing is RemoteProbe)
            {
                AbortUpgradeLocked();
            }
        }
    }

    /// <summary>
    /// The other gateway's WebSocket sent "5": gives up the session (a held poll ends with a noop, the ring is copied
    /// up to its head into the queue, the session ends here without a record). Null when it is not being probed from
    /// another gateway, or cannot be handed over.
    /// </summary>
    public HandoverState? HandOver()
    {
        lock (this)
        {
            if (_closed || _isWebSocket || _probing is not RemoteProbe || !CanHandOverLocked())
            {
                return null;
            }

            _probing = null;
            EndParkedPollForUpgradeLocked();
            PumpLocked(_runtime.SharedTally);
            if (_closed)
            {
                return null; // a slow consumer
            }

            // The last entry given, as a stream id (the receiver's replay starts after it).
            string? offset = null;
            if (_cursor > 0 && _runtime.Context.Tracker!.Find(_cursor - 1) is { } last)
            {
                offset = last.StreamId;
            }

            if (_cursor > 0 && offset is null)
            {
                return null; // not a stream entry (or forgotten): the offset cannot be named
            }

            var sockets = new List<HandoverSocket>(1 + _moreCount);
            if (_socket0 is { } first)
            {
                sockets.Add(Describe(first));
            }

            for (int i = 0; i < _moreCount; i++)
            {
                sockets.Add(Describe(_moreSockets![i]!));
            }

            var state = new HandoverState(Sid, offset, _pollQueue!.WrittenSpan.ToArray(), sockets.ToArray());
            CloseLocked(CloseReason.HandedOver, clientInitiated: true, WebSocketCloseCode.NormalClosure, sendClose: false);
            return state;
        }
    }

    private HandoverSocket Describe(NamespaceSocket socket) => new(
        _runtime.NamespaceNames[socket.NamespaceIndex], socket.Id, socket.Pid!, socket.Auth, socket.ChannelNames.ToArray(),
        socket.Viewer?.Id, socket.Viewer?.Channels, socket.JoinPosition.VisibleAt, socket.JoinPosition.Id.ToString());

    /// <summary>
    /// Takes over a session another gateway handed over, on this connection's WebSocket: what was queued goes out
    /// first, then each socket is restored (<see cref="ConnectsSettled"/> completes when all are). Started.
    /// </summary>
    public static EngineSession TakeOver(GatewayRuntime runtime, HandoverState state, ConnectionOutput output, PipeReader input)
    {
        var session = new EngineSession(runtime, state.Sid, webSocket: true, output, input);
        session.Start();
        session.RestoreHandedOver(state);
        return session;
    }

    private void RestoreHandedOver(HandoverState state)
    {
        lock (this)
        {
            WritePollingRecordsAsMessagesLocked(state.Queued);
            _joinedAny = true;
            foreach (HandoverSocket handed in state.Sockets)
            {
                int namespaceIndex = _runtime.FindNamespace(handed.Namespace);
                if (namespaceIndex < 0 || !StreamId.TryParse(handed.JoinedId, out StreamId joinedId))
                {
                    continue; // a namespace this gateway does not serve: configured alike in a region
                }

                Viewer? viewer = handed.Viewer is null ? null : new Viewer(handed.Viewer, handed.ViewerChannels);
                var request = new RecoveryRequest(this, namespaceIndex, handed.Pid, state.Offset, handed.Auth, authChannels: null, viewer)
                {
                    HandedOver = new HandedOverSocket(handed.Id, handed.Namespace, handed.Channels, new StreamPosition(handed.JoinedAt, joinedId)),
                };
                (_pendingConnects ??= []).Add(namespaceIndex);
                if (!_runtime.Recovery.TryRequest(request))
                {
                    CloseLocked(CloseReason.StreamGap, clientInitiated: false, WebSocketCloseCode.NormalClosure, sendClose: true);
                    return;
                }
            }

            CommitLocked();
        }
    }
}
