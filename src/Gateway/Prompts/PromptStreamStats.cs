namespace Gateway.Prompts;

/// <summary>Where a prompt stream reader stands: its cursor (the last entry id read) and how many entries wait for their reveal.</summary>
internal readonly record struct PromptStreamStats(string Cursor, int Held);
