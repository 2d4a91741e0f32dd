using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// <c>Gateway:Demo:Enabled</c>: the demo viewer page, its two scripts and the library's ES module on the public port,
/// with their content types and cache policy; nothing else besides Engine.IO; nothing at all when off. Raw
/// HTTP/1.1 against a gateway process.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class DemoPageTests
{
    [Fact]
    public async Task Demo_Enabled_ServesThePageAndItsScriptsByContentHash()
    {
        using ServerProcess gateway = await ServerProcess.StartAsync(ServerKind.Gateway, ServerProfile.Default, ["--Gateway:Demo:Enabled=true"]);

        string page = await RequestAsync(gateway, "GET /demo/ HTTP/1.1");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", page, StringComparison.Ordinal);
        Assert.Contains("Content-Type: text/html; charset=utf-8\r\n", page, StringComparison.Ordinal);
        Assert.Contains("Cache-Control: no-cache\r\n", page, StringComparison.Ordinal);
        string viewerUrl = Between(page, "<script src=\"gateway-viewer.js", "\"");
        Assert.Matches("^\\?v=[0-9a-f]{12}$", viewerUrl);
        Assert.Matches("<script src=\"socket.io.min.js\\?v=[0-9a-f]{12}\"></script>", page);

        string script = await RequestAsync(gateway, $"GET /demo/gateway-viewer.js{viewerUrl} HTTP/1.1");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", script, StringComparison.Ordinal);
        Assert.Contains("Content-Type: text/javascript; charset=utf-8\r\n", script, StringComparison.Ordinal);
        Assert.Contains("Cache-Control: public, max-age=31536000, immutable\r\n", script, StringComparison.Ordinal);
        Assert.Contains("root.GatewayViewer = {", script, StringComparison.Ordinal);

        // The ES module build: one source, it runs gateway-viewer.js and exports what that defines.
        string module = await RequestAsync(gateway, "GET /demo/gateway-viewer.mjs HTTP/1.1");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", module, StringComparison.Ordinal);
        Assert.Contains("Content-Type: text/javascript; charset=utf-8\r\n", module, StringComparison.Ordinal);
        Assert.Contains("import \"./gateway-viewer.js\";", module, StringComparison.Ordinal);
        Assert.Contains("export const GatewayViewer = globalThis.GatewayViewer;", module, StringComparison.Ordinal);

        string unversioned = await RequestAsync(gateway, "HEAD /demo/socket.io.min.js HTTP/1.1");
        Assert.Contains("Cache-Control: no-cache\r\n", unversioned, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", unversioned, StringComparison.Ordinal); // HEAD: no body

        Assert.StartsWith("HTTP/1.1 301 Moved Permanently\r\n", await RequestAsync(gateway, "GET /demo HTTP/1.1"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", await RequestAsync(gateway, "GET /demo/../appsettings.json HTTP/1.1"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", await RequestAsync(gateway, "GET /demo/nothing.js HTTP/1.1"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", await RequestAsync(gateway, "GET /demonstration HTTP/1.1"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 405 Method Not Allowed\r\n", await RequestAsync(gateway, "POST /demo/ HTTP/1.1\r\nContent-Length: 0"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", await RequestAsync(gateway, "GET /console/ HTTP/1.1"), StringComparison.Ordinal);
        await gateway.AssertNoConnectionsAsync();
    }

    [Fact]
    public async Task Demo_Off_IsNotServed()
    {
        using ServerProcess gateway = await ServerProcess.StartAsync(ServerKind.Gateway, ServerProfile.Default);

        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", await RequestAsync(gateway, "GET /demo/ HTTP/1.1"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", await RequestAsync(gateway, "GET /demo/gateway-viewer.js HTTP/1.1"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", await RequestAsync(gateway, "GET /demo/gateway-viewer.mjs HTTP/1.1"), StringComparison.Ordinal);
    }

    /// <summary>One request on its own connection ("Connection: close"); the whole response as text.</summary>
    private static async Task<string> RequestAsync(ServerProcess gateway, string requestLineAndHeaders)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, gateway.Port);
        NetworkStream stream = client.GetStream();
        byte[] request = Encoding.ASCII.GetBytes(requestLineAndHeaders + "\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(request);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = new MemoryStream();
        await stream.CopyToAsync(response, cts.Token);
        return Encoding.UTF8.GetString(response.ToArray());
    }

    private static string Between(string text, string start, string end)
    {
        int from = text.IndexOf(start, StringComparison.Ordinal);
        Assert.True(from >= 0, $"'{start}' not in the page");
        from += start.Length;
        return text[from..text.IndexOf(end, from, StringComparison.Ordinal)];
    }
}
