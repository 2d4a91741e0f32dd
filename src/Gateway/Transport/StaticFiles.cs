using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Transport;

/// <summary>One file served from the gateway's own assembly: its bytes, content type and cache policy.</summary>
/// <param name="Name">File name inside its folder (<c>index.html</c>, <c>gateway-viewer.js</c>).</param>
/// <param name="Body">The bytes served (a page with its script URLs already versioned).</param>
/// <param name="ContentType">The <c>Content-Type</c> header's value.</param>
/// <param name="Version">Short hash of the bytes: pages name their scripts <c>name?v=&lt;Version&gt;</c>.</param>
internal sealed record StaticFile(string Name, byte[] Body, string ContentType, string Version)
{
    /// <summary>
    /// <c>Cache-Control</c> for a request with query <paramref name="query"/>: a script asked for under its own content
    /// hash (<c>?v=</c>) never changes, so it is cached for a year; anything else — the pages, or a script asked for
    /// without its hash — is revalidated on every use, so a new gateway build is seen at once.
    /// </summary>
    public string CacheControl(ReadOnlySpan<byte> query) =>
        query.SequenceEqual(Encoding.ASCII.GetBytes("v=" + Version)) ? "public, max-age=31536000, immutable" : "no-cache";
}

/// <summary>
/// The web files compiled into the gateway from <c>clients/web</c> (embedded resources named <c>web/…</c>): the viewer
/// library, the stock <c>socket.io.min.js</c> it runs on, the demo viewer page and the operator console. Loaded once;
/// pages refer to their scripts by content hash (<see cref="StaticFile.CacheControl"/>). No CDN: every byte a page
/// needs comes from here.
/// </summary>
internal sealed class StaticFiles
{
    /// <summary>The library (a plain script, and the ES module that runs it) and the client it runs on, shared by every folder.</summary>
    private static readonly string[] s_shared = ["gateway-viewer.js", "gateway-viewer.mjs", "socket.io.min.js"];

    private readonly StaticFile[] _files;
    private readonly byte[][] _names;

    private StaticFiles(StaticFile[] files)
    {
        _files = files;
        _names = files.Select(f => Encoding.ASCII.GetBytes(f.Name)).ToArray();
    }

    /// <summary>The files of one folder of <c>clients/web</c> (<c>demo</c>, <c>console</c>) and the shared scripts.</summary>
    public static StaticFiles Folder(string folder)
    {
        Assembly assembly = typeof(StaticFiles).Assembly;
        string prefix = $"web/{folder}/";
        var raw = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Select(n => (Name: n[prefix.Length..], Body: Read(assembly, n)))
            .Concat(s_shared.Select(n => (Name: n, Body: Read(assembly, "web/" + n))))
            .ToList();
        var versions = raw.ToDictionary(f => f.Name, f => Convert.ToHexStringLower(SHA256.HashData(f.Body))[..12], StringComparer.Ordinal);

        var files = new List<StaticFile>();
        foreach ((string name, byte[] body) in raw)
        {
            byte[] bytes = body;
            if (name.EndsWith(".html", StringComparison.Ordinal))
            {
                // Each script or style the page names ("x.js") becomes its content-hashed URL ("x.js?v=…").
                string text = Encoding.UTF8.GetString(body);
                foreach ((string other, string version) in versions)
                {
                    text = text.Replace($"\"{other}\"", $"\"{other}?v={version}\"", StringComparison.Ordinal);
                }

                bytes = Encoding.UTF8.GetBytes(text);
            }

            files.Add(new StaticFile(name, bytes, ContentTypeOf(name), versions[name]));
        }

        return new StaticFiles(files.ToArray());
    }

    /// <summary>The file named <paramref name="name"/> (empty: <c>index.html</c>), or null.</summary>
    public StaticFile? Find(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
        {
            name = "index.html"u8;
        }

        for (int i = 0; i < _names.Length; i++)
        {
            if (name.SequenceEqual(_names[i]))
            {
                return _files[i];
            }
        }

        return null;
    }

    /// <summary>The file named <paramref name="name"/> (empty: <c>index.html</c>), or null.</summary>
    public StaticFile? Find(string name) => Find(Encoding.UTF8.GetBytes(name));

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" or ".mjs" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };

    private static byte[] Read(Assembly assembly, string resource)
    {
        using Stream stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the gateway was built without its web file '{resource}' (clients/web)");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
