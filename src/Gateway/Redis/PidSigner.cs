using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Gateway.EngineIO;
using Gateway.Prompts;

namespace Gateway.Redis;

/// <summary>
/// Pids any gateway of the region can verify without a record: <c>sid.instance.issuedAt.joinedAt.joinId.mac</c> —
/// who issued it and when (unix seconds), and where in the prompt stream the socket joined (a socket that never got a
/// prompt recovers from there). The MAC is an HMAC-SHA256 over those fields and the namespace, keyed with the
/// region's secret (<see cref="RegionLiveness"/> fetches it), truncated to 12 bytes, base64url.
/// </summary>
/// <remarks>Thread-safe. Before the secret is known (Redis away at start) a pid is a random id, good only with a session record.</remarks>
internal sealed class PidSigner(string instanceId, TimeProvider? time = null)
{
    /// <summary>Length of an instance id (the first 8 characters of a session id).</summary>
    public const int InstanceIdLength = 8;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private volatile byte[]? _secret;

    /// <summary>This process's id in the region: a restart is a new instance.</summary>
    public string InstanceId { get; } = instanceId;

    /// <summary>The region's pid-signing key; null until known.</summary>
    public byte[]? Secret
    {
        get => _secret;
        set => _secret = value;
    }

    /// <summary>A new instance id.</summary>
    public static string NewInstanceId() => SessionIds.New()[..InstanceIdLength];

    public string Issue(string sid, string namespaceName, StreamPosition joined)
    {
        byte[]? secret = _secret;
        if (secret is null)
        {
            return SessionIds.New();
        }

        long issuedAt = _time.GetUtcNow().ToUnixTimeSeconds();
        string signed = string.Create(CultureInfo.InvariantCulture, $"{sid}.{InstanceId}.{issuedAt}.{joined.VisibleAt}.{joined.Id}");
        return signed + "." + Mac(secret, signed, namespaceName);
    }

    /// <summary>Reads a signed pid issued for <paramref name="namespaceName"/>: who issued it, when, and the join position.</summary>
    public bool TryRead(string pid, string namespaceName, out SignedPid signed)
    {
        signed = default;
        byte[]? secret = _secret;
        string[] parts = pid.Split('.');
        if (secret is null || parts.Length != 6 || parts[0].Length is 0 or > 32 || parts[1].Length != InstanceId.Length ||
            !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out long issuedAt) ||
            !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out long joinedAt) ||
            !StreamId.TryParse(parts[4], out StreamId joinedId))
        {
            return false;
        }

        string expected = Mac(secret, pid[..pid.LastIndexOf('.')], namespaceName);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(parts[5])))
        {
            return false;
        }

        signed = new SignedPid(parts[0], parts[1], issuedAt * 1000, new StreamPosition(joinedAt, joinedId));
        return true;
    }

    private static string Mac(byte[] secret, string signed, string namespaceName)
    {
        byte[] mac = HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(signed + "\n" + namespaceName));
        return Convert.ToBase64String(mac, 0, 12).Replace('+', '-').Replace('/', '_');
    }
}
