namespace Gateway.Hosting;

/// <summary>
/// This process's file-descriptor budget (Linux <c>/proc</c>), for whoever holds one socket per client: the gateway's
/// connection cap and the load generator's split into worker processes (tools/loadgen links this file). Out of
/// descriptors the .NET runtime itself fails — the GC reads <c>/proc/meminfo</c>, assemblies load lazily — and the
/// process dies ("Out of memory."), so a reserve is always kept free.
/// </summary>
internal static class OpenFiles
{
    /// <summary>How many more sockets fit while <paramref name="reserve"/> descriptors stay free; int.MaxValue when unlimited or unknown.</summary>
    public static int SocketsThatFit(int reserve)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/limits"))
            {
                // "Max open files            20000                20000                files"
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    string[] fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (fields.Length > 0 && long.TryParse(fields[0], out long limit))
                    {
                        int open = Directory.GetFiles("/proc/self/fd").Length;
                        return (int)Math.Clamp(limit - open - reserve, 1, int.MaxValue);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return int.MaxValue; // "unlimited", or not Linux
    }
}
