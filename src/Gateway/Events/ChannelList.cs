using System.Text.Json;

namespace Gateway.Events;

/// <summary>A channel name or an array of names, as the CONNECT auth payload and <c>subscribe</c> carry them.</summary>
internal static class ChannelList
{
    /// <summary>Most names one payload may carry (more is refused, never truncated).</summary>
    public const int MaxNames = 1024;

    /// <summary>Reads a channel name or an array of names at the reader's current token.</summary>
    public static bool TryRead(ref Utf8JsonReader reader, out List<string>? channels)
    {
        channels = new List<string>();
        if (reader.TokenType == JsonTokenType.String)
        {
            channels.Add(reader.GetString()!);
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                return false;
            }

            channels.Add(reader.GetString()!);
            if (channels.Count > MaxNames)
            {
                return false;
            }
        }

        return true;
    }
}
