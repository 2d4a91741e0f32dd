using Gateway.Fuzz.Targets;

namespace Gateway.Fuzz;

/// <summary>Every entry point by name: one per parser the gateway exposes to clients or balancers.</summary>
public static class FuzzTargets
{
    public static IReadOnlyList<(string Name, FuzzTarget Run)> All { get; } =
    [
        ("websocket", WebSocketFramesTarget.Run),
        ("http", HttpRequestHeadTarget.Run),
        ("engineio", EngineIOTarget.Run),
        ("socketio", SocketIOTarget.Run),
        ("proxy", ProxyHeaderTarget.Run),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name).Run;
}
