using Gateway.EngineIO;
using Gateway.Region;

namespace Gateway.Transport;

/// <summary>
/// A session another gateway of the region holds, as a WebSocket upgrade that landed here sees it: probed there
/// ("2probe"), then taken over ("5"), or given up when the WebSocket ends first.
/// </summary>
internal sealed class RemoteSession(PeerRequests requests, RegionPeer peer, string sid)
{
    private int _state; // 0 new, 1 probing, 2 taken or given up

    /// <summary>The holder let the probe begin (its held poll ended).</summary>
    public bool Probing => Volatile.Read(ref _state) == 1;

    public async Task<bool> ProbeAsync()
    {
        bool begun = await requests.ProbeAsync(peer, sid).ConfigureAwait(false);
        if (begun)
        {
            Interlocked.CompareExchange(ref _state, 1, 0);
        }

        return begun;
    }

    /// <summary>Takes the session: its state, or null when its holder could not hand it over.</summary>
    public Task<HandoverState?> HandOverAsync()
    {
        Volatile.Write(ref _state, 2);
        return requests.HandOverAsync(peer, sid);
    }

    /// <summary>The WebSocket ended while probing: the holder keeps the session on polling (fire and forget).</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _state, 2) == 1)
        {
            _ = requests.AbortAsync(peer, sid);
        }
    }
}
