namespace Gateway.Prompts;

/// <summary>The admin publish's outcome: 202, 400 or 503.</summary>
internal enum PublishStatus
{
    Accepted,
    Invalid,
    Unavailable,
}
