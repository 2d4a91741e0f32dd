using Gateway.Hosting;

// Socket completions run on the epoll thread instead of being queued to the thread pool: with Kestrel's inline
// scheduling a received frame is parsed, and a broadcast flush is sent, without a thread hop. Read once, when the
// first socket is created, so it must be set before the host starts. An operator's explicit setting wins.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

try
{
    var app = GatewayApp.Build(args);
    await app.RunAsync();
    return 0;
}
catch (GatewayApp.ConfigurationException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}
