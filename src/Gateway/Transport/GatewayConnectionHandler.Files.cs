using System.Text;
using Gateway.Protocol.Http;
using HttpMethod = Gateway.Protocol.Http.HttpMethod;

namespace Gateway.Transport;

/// <summary>
/// The demo viewer page (<c>Gateway:Demo:Enabled</c>): <c>/demo/</c>, the scripts it loads and the library's ES module,
/// from the assembly (<see cref="StaticFiles"/>), with Engine.IO's CORS headers (<c>Gateway:Cors:Origins</c>: a page on
/// another origin imports the module with CORS). Nothing else is served on the public port besides Engine.IO.
/// </summary>
internal sealed partial class GatewayConnectionHandler
{
    private static ReadOnlySpan<byte> DemoPath => "/demo"u8;

    /// <summary><paramref name="path"/> is <paramref name="folder"/> itself or a path inside it.</summary>
    private static bool IsUnder(ReadOnlySpan<byte> path, ReadOnlySpan<byte> folder) =>
        path.StartsWith(folder) && (path.Length == folder.Length || path[folder.Length] == (byte)'/');

    /// <summary>Answers a GET or HEAD of a file of <paramref name="files"/>. True when the connection must end.</summary>
    private static bool ServeFile(HttpConnection http, ref HttpRequestHead head, StaticFiles files, ReadOnlySpan<byte> folder)
    {
        if (head.Method is not (HttpMethod.Get or HttpMethod.Head))
        {
            http.Respond(405, "text/plain"u8, "Method Not Allowed"u8, "Allow: GET, HEAD\r\n"u8);
            return true;
        }

        if (head.Path.Length == folder.Length)
        {
            // "/demo" → "/demo/": the page's relative script URLs resolve inside the folder.
            http.Respond(301, "text/plain"u8, "Moved Permanently"u8, Encoding.ASCII.GetBytes($"Location: {Encoding.ASCII.GetString(folder)}/\r\n"));
            return false;
        }

        StaticFile? file = files.Find(head.Path[(folder.Length + 1)..]);
        if (file is null)
        {
            http.Respond(404, "text/plain"u8, "Not Found"u8);
            return true;
        }

        string headers = $"Cache-Control: {file.CacheControl(head.Query)}\r\nX-Content-Type-Options: nosniff\r\n";
        http.Respond(200, Encoding.ASCII.GetBytes(file.ContentType), file.Body, Encoding.ASCII.GetBytes(headers), headOnly: head.Method == HttpMethod.Head);
        return false;
    }
}
