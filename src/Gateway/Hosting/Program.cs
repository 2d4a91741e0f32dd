using Gateway.Hosting;

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
