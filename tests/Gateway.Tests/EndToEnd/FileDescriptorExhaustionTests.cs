using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// Every socket is a file descriptor and processes here are capped (20,000 on this machine). Out of descriptors the
/// runtime itself fails (the GC reads /proc/meminfo, assemblies load lazily) and the process died with "Out of
/// memory.". The gateway keeps a reserve: beyond the descriptors it has for sockets (the limit less what is open less
/// 128) a connection gets HTTP 503 and is closed, and the gateway serves again when sockets close. The viewer cap is
/// set far above, so that only the descriptors are tested (polling sessions outlive their sockets: at an automatic
/// cap they would count until their heartbeat ends).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class FileDescriptorExhaustionTests
{
    [Fact(Timeout = 60_000)]
    public async Task AtItsOpenFilesLimit_TheGatewayAnswers503_StaysUp_AndServesAgainWhenSocketsClose()
    {
        const int limit = 420;
        using ServerProcess gateway = await ServerProcess.StartAsync(ServerKind.Gateway, ServerProfile.Default, ["--Gateway:MaxConnections=100000"], openFilesLimit: limit);
        var clients = new List<TcpClient>();
        int refused = 0;
        try
        {
            // More connections than the limit allows, each sending a handshake.
            for (int i = 0; i < limit; i++)
            {
                var client = new TcpClient();
                clients.Add(client);
                await client.ConnectAsync("127.0.0.1", gateway.Port);
                await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"));
            }

            foreach (TcpClient client in clients)
            {
                string answer = await ReadSomeAsync(client.GetStream(), TimeSpan.FromSeconds(5));
                if (answer.StartsWith("HTTP/1.1 503", StringComparison.Ordinal))
                {
                    refused++;
                }
            }

            Assert.False(gateway.HasExited, $"the gateway died at its open-files limit:\n{gateway.RecentOutput}");
            using var stats = JsonDocument.Parse(await gateway.Admin.GetStringAsync("/v1/stats"));
            long counted = stats.RootElement.GetProperty("connectionsRefused").GetInt64();
            Assert.True(counted > 0 && refused > 0, $"expected 503s beyond the cap: {refused} seen, {counted} counted");
        }
        finally
        {
            foreach (TcpClient client in clients)
            {
                client.Dispose();
            }
        }

        // Descriptors free again: a new client gets its handshake.
        string again = await HandshakeAsync(gateway.Port, TimeSpan.FromSeconds(30));
        Assert.StartsWith("HTTP/1.1 200 OK", again, StringComparison.Ordinal);
        Assert.Contains("\"sid\":", again, StringComparison.Ordinal);
        Assert.False(gateway.HasExited);
    }

    /// <summary>What the server sent first ("" when the connection ended or nothing came in time).</summary>
    private static async Task<string> ReadSomeAsync(NetworkStream stream, TimeSpan limit)
    {
        try
        {
            using var reading = new CancellationTokenSource(limit);
            var buffer = new byte[512];
            int n = await stream.ReadAsync(buffer, reading.Token);
            return Encoding.ASCII.GetString(buffer, 0, n);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            return "";
        }
    }

    /// <summary>A polling handshake on a fresh connection, retried until it is not refused.</summary>
    private static async Task<string> HandshakeAsync(int port, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (clock.Elapsed < limit)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                NetworkStream stream = client.GetStream();
                await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
                using var reading = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                var buffer = new byte[4096];
                int n = await stream.ReadAsync(buffer, reading.Token);
                last = Encoding.ASCII.GetString(buffer, 0, n);
                if (n > 0 && !last.StartsWith("HTTP/1.1 503", StringComparison.Ordinal))
                {
                    return last;
                }
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                last = e.Message;
            }

            await Task.Delay(50); // polling for the condition (served again), with the deadline above
        }

        return last;
    }
}
