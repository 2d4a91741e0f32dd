using System.Text;
using Gateway.EngineIO;

namespace Gateway.Tests.EngineIO;

/// <summary>
/// A polling request as a session sees it, with no connection behind it: records every answer and abort, and keeps
/// the <see cref="ParkedFor"/> / <see cref="DataFor"/> links the session sets (as <c>HttpConnection</c> does).
/// </summary>
internal sealed class RecordingPollingRequest : IPollingRequest
{
    public EngineSession? ParkedFor { get; set; }

    public EngineSession? DataFor { get; set; }

    /// <summary>Every response written, in order, bodies decoded as UTF-8.</summary>
    public List<(int Status, string ContentType, string Body)> Responses { get; } = [];

    public int Aborts { get; private set; }

    /// <summary>The only response, its status asserted 200: the body.</summary>
    public string SingleBody
    {
        get
        {
            (int status, _, string body) = Assert.Single(Responses);
            Assert.Equal(200, status);
            return body;
        }
    }

    public void Respond(int status, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body, ReadOnlySpan<byte> extraHeaders = default) =>
        Responses.Add((status, Encoding.ASCII.GetString(contentType), Encoding.UTF8.GetString(body)));

    public void Abort() => Aborts++;

    /// <summary>Bytes the "connection" holds unread beyond its buffer (a test sets it to play a peer that reads nothing).</summary>
    public long Unread { get; set; }

    public bool IsOverCap(long maxBytes) => Unread > maxBytes;
}
