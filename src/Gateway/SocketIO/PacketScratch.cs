using Gateway.Protocol.Buffers;

namespace Gateway.SocketIO;

/// <summary>A per-thread buffer for composing one outbound packet (sessions and event handlers share it).</summary>
internal static class PacketScratch
{
    [ThreadStatic]
    private static PooledBufferWriter? s_scratch;

    /// <summary>The calling thread's scratch, emptied (and shrunk back when a large packet grew it).</summary>
    public static PooledBufferWriter Get()
    {
        PooledBufferWriter scratch = s_scratch ??= PooledBufferWriter.Resident(1024);
        scratch.Reset(keepAtMost: 64 * 1024);
        return scratch;
    }
}
