using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.Tests.EndToEnd;

/// <summary>Raw TCP requests for the admission tests: what a misbehaving client sends, byte for byte.</summary>
public static class RawHttp
{
    public const string PollingHandshake = "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    public const string WebSocketHandshake =
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    /// <summary>A connection to the gateway's port, from <paramref name="localAddress"/> (a 127.0.0.x) when given.</summary>
    public static async Task<Socket> ConnectAsync(int port, string? localAddress = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (localAddress is not null)
        {
            socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
        }

        await socket.ConnectAsync(IPAddress.Loopback, port);
        return socket;
    }

    public static async Task SendAsync(Socket socket, string ascii) => await socket.SendAsync(Encoding.ASCII.GetBytes(ascii));

    /// <summary>
    /// Reads until the gateway closes the connection or the response head (and its Content-Length body) is complete;
    /// "" when it closed without a word. Bounded by 30 s.
    /// </summary>
    public static async Task<string> ReadResponseAsync(Socket socket)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var received = new StringBuilder();
        var buffer = new byte[8192];
        try
        {
            while (!IsComplete(received.ToString()))
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                if (n == 0)
                {
                    break;
                }

                received.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (SocketException)
        {
            // Reset after what was read.
        }

        return received.ToString();
    }

    /// <summary>True once the gateway has closed the connection (reads to the end, discarding; bounded by 30 s).</summary>
    public static async Task<bool> WaitClosedAsync(Socket socket)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[8192];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static bool IsComplete(string response)
    {
        int end = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }

        int at = response.IndexOf("Content-Length: ", StringComparison.OrdinalIgnoreCase);
        if (at < 0 || at > end)
        {
            return true;
        }

        int length = int.Parse(response.AsSpan(at + 16, response.IndexOf('\r', at) - at - 16), System.Globalization.CultureInfo.InvariantCulture);
        return response.Length >= end + 4 + length;
    }

    /// <summary>The Retry-After header's seconds, or -1.</summary>
    public static int RetryAfter(string response)
    {
        int at = response.IndexOf("Retry-After: ", StringComparison.Ordinal);
        return at < 0 ? -1 : int.Parse(response.AsSpan(at + 13, response.IndexOf('\r', at) - at - 13), System.Globalization.CultureInfo.InvariantCulture);
    }
}
