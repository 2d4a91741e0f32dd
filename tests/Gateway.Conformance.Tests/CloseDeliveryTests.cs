using System.Net.Sockets;
using Gateway.Protocol.WebSockets;

namespace Gateway.Conformance.Tests;

/// <summary>
/// The close frame reaches a client that is still sending: the gateway must not reset the connection (which makes
/// the client's kernel drop the unread close frame) while the client's bytes are still arriving.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class CloseDeliveryTests(GatewayServer server)
{
    [Fact]
    public async Task Message_OverMaxPayload_WhileClientKeepsSending_CloseFrameArrivesEveryTime()
    {
        // Header of a binary frame one byte over MaxPayload: the gateway refuses it from the header alone.
        byte[] header = RawClient.ClientFrame(WebSocketOpcode.Binary, new byte[GatewayServer.MaxPayload + 1]);
        byte[] chunk = new byte[64 * 1024];
        for (int iteration = 0; iteration < 20; iteration++)
        {
            (RawClient client, _) = await RawClient.OpenWebSocketAsync(server.Port);
            using (client)
            {
                await client.SendTextAsync("40");
                Assert.StartsWith("40{\"sid\"", (await client.ReadNonPingFrameAsync()).Text);

                Task<ushort> close = client.ReadCloseAsync();
                // Keep writing (the over-limit frame, then more bytes) until the close frame has been read. A failed
                // write aborts the connection, as WebSocket clients do (ws destroys its socket on a socket error):
                // the close frame counts only if it was read before the gateway refused our bytes.
                Task writer = Task.Run(async () =>
                {
                    try
                    {
                        await client.SendAsync(header);
                        while (!close.IsCompleted)
                        {
                            await client.SendAsync(chunk);
                        }
                    }
                    catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
                    {
                        client.Dispose();
                    }
                });

                ushort code;
                try
                {
                    code = await close;
                }
                catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
                {
                    Assert.Fail($"iteration {iteration}: the connection ended without the close frame ({e.GetType().Name}: {e.Message})");
                    throw;
                }

                Assert.Equal(WebSocketCloseCode.MessageTooBig, code);
                await writer;
            }
        }

        await server.AssertNoConnectionsAsync();
    }
}
