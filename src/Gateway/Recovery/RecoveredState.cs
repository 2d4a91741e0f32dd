using Gateway.Broadcast;

namespace Gateway.Recovery;

/// <summary>A recovered socket: its old id, its channels and the prompts it missed, encoded, in order.</summary>
internal sealed record RecoveredState(string Sid, string Pid, List<string> Channels, List<PromptFrames> Missed);
