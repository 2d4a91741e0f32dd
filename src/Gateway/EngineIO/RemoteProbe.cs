namespace Gateway.EngineIO;

/// <summary>
/// An upgrade probe of this gateway's session on another gateway of the region (the client's WebSocket landed there):
/// the session behaves as while a local probe runs — polls end at once, <c>UpgradeTimeout</c> applies — until that
/// gateway takes it over (<see cref="EngineSession.HandOver"/>) or gives up.
/// </summary>
internal sealed class RemoteProbe : IUpgradeProbe
{
    public void CloseProbe(ushort code)
    {
        // The WebSocket is on the other gateway: it learns that the probe ended when it asks for the session.
    }
}
