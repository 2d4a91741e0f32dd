using Gateway.Prompts;

namespace Gateway.Redis;

/// <summary>What a signed pid says: the socket's id, the instance that issued it, when (ms), and where it joined.</summary>
internal readonly record struct SignedPid(string Sid, string Instance, long IssuedAtMs, StreamPosition Joined);
