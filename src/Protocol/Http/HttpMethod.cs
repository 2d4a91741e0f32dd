namespace Gateway.Protocol.Http;

/// <summary>The request methods the gateway distinguishes.</summary>
public enum HttpMethod : byte
{
    Other = 0,
    Get,
    Post,
    Options,
    Head,
    Put,
}
