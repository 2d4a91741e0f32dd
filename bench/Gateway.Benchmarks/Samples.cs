using System.Text;

namespace Gateway.Benchmarks;

/// <summary>Wire samples shared by the benchmarks: sizes as the gateway sees them in production.</summary>
public static class Samples
{
    /// <summary>JSON arguments (inner part of the array) of a prompt, padded so the whole event is 300 bytes.</summary>
    public static readonly byte[] PromptArguments = BuildArguments(300);

    /// <summary>A 300-byte Socket.IO EVENT for namespace "/": <c>2["prompt",{…}]</c>.</summary>
    public static readonly byte[] PromptEvent = [.. "2[\"prompt\","u8, .. PromptArguments, (byte)']'];

    private static byte[] BuildArguments(int eventLength)
    {
        const string head = "{\"id\":\"p-000042\",\"show\":\"show-42\",\"kind\":\"question\",\"text\":\"";
        const string tail = "\",\"choices\":[\"A\",\"B\",\"C\"],\"ttl\":15000}";
        int padding = eventLength - "2[\"prompt\",]".Length - head.Length - tail.Length;
        var text = new StringBuilder(head);
        for (int i = 0; i < padding; i++)
        {
            text.Append((char)('a' + (i % 26)));
        }

        return Encoding.ASCII.GetBytes(text.Append(tail).ToString());
    }
}
