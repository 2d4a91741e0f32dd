using Gateway.Protocol.WebSockets;

namespace Gateway.EngineIO;

/// <summary>
/// The WebSocket connection probing an upgrade of a polling session (between <c>2probe</c> and <c>5</c>), as the
/// session sees it. Implemented by the transport.
/// </summary>
internal interface IUpgradeProbe
{
    /// <summary>Sends a close frame on the probe and ends it; the session stays on polling.</summary>
    void CloseProbe(ushort code = WebSocketCloseCode.NormalClosure);
}
