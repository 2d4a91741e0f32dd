using System.Text.Json;
using Gateway.Prompts;

namespace Gateway.Redis;

/// <summary>
/// What a gateway stores about a disconnected socket (key: session prefix + pid), as JSON:
/// <c>{"sid":…,"ns":…,"v":joinedVisibleAt,"id":joinedStreamId,"ch":[channels]}</c>.
/// </summary>
internal sealed record SessionRecord(string Sid, string Ns, long V, string Id, string[] Ch)
{
    public static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static SessionRecord? TryParse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            SessionRecord? record = JsonSerializer.Deserialize<SessionRecord>(json, JsonOptions);
            return record is { Sid: not null, Ns: not null, Id: not null, Ch: not null } && StreamId.TryParse(record.Id, out _) ? record : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public StreamPosition Position => new(V, StreamId.Parse(Id));
}
