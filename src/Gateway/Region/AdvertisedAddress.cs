using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Gateway.Configuration;
using Microsoft.Extensions.Options;

namespace Gateway.Region;

/// <summary>
/// Where the other gateways of the region reach this one's public port: <c>Gateway:Region:Advertise</c>, else the
/// machine's first non-loopback IPv4 address and the port the public listener bound (known once it has).
/// </summary>
internal sealed class AdvertisedAddress(IOptions<GatewayOptions> options)
{
    private volatile string? _value = options.Value.Region.Advertise;

    /// <summary>The <c>host:port</c> to advertise; null until the public port is bound (without the key).</summary>
    public string? Value => _value;

    /// <summary>The public listener bound <paramref name="port"/>.</summary>
    public void OnBound(int port) => _value ??= (FirstIPv4() ?? IPAddress.Loopback) + ":" + port;

    private static IPAddress? FirstIPv4()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Select(a => a.Address)
                .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        }
        catch (NetworkInformationException)
        {
            return null;
        }
    }
}
