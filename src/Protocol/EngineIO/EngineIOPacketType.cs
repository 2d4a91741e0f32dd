namespace Gateway.Protocol.EngineIO;

/// <summary>Engine.IO v4 packet types; on the wire a text packet starts with the digit.</summary>
public enum EngineIOPacketType : byte
{
    Open = 0,
    Close = 1,
    Ping = 2,
    Pong = 3,
    Message = 4,
    Upgrade = 5,
    Noop = 6,
}
