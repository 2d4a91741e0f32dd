using System.Buffers;
using Gateway.Protocol.Buffers;

namespace Gateway.Protocol.EngineIO;

/// <summary>The Engine.IO v4 open packet, as engine.io 6.x writes it.</summary>
public static class EngineIOHandshake
{
    /// <summary>
    /// Appends <c>0{"sid":"…","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}</c>.
    /// A session opened directly on WebSocket offers no upgrades (<c>[]</c>).
    /// </summary>
    public static void WriteOpenPacket(IBufferWriter<byte> writer, ReadOnlySpan<char> sid, bool offerWebSocketUpgrade, int pingInterval, int pingTimeout, int maxPayload)
    {
        writer.WriteBytes("0{\"sid\":\""u8);
        writer.WriteAscii(sid);
        writer.WriteBytes(offerWebSocketUpgrade ? "\",\"upgrades\":[\"websocket\"],\"pingInterval\":"u8 : "\",\"upgrades\":[],\"pingInterval\":"u8);
        writer.WriteInt64(pingInterval);
        writer.WriteBytes(",\"pingTimeout\":"u8);
        writer.WriteInt64(pingTimeout);
        writer.WriteBytes(",\"maxPayload\":"u8);
        writer.WriteInt64(maxPayload);
        writer.WriteByte((byte)'}');
    }
}
