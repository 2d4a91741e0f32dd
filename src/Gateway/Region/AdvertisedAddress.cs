using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Gateway.Configuration;
using Microsoft.Extensions.Options;

namespace Gateway.Region;

/// <summary>
/// Where the other gateways of the region reach this one's public port: <c>Gateway:Region:Advertise</c>, else the
/// address the public listener bound (<c>Gateway:BindAddress</c>) when it is a specific one, else the machine's first
/// non-loopback IPv4 address; with the port it bound (known once it has).
/// </summary>
internal sealed class AdvertisedAddress(IOptions<GatewayOptions> options)
{
    private volatile string? _value = options.Value.Region.Advertise;

    /// <summary>The <c>host:port</c> to advertise; null until the public port is bound (without the key).</summary>
    public string? Value => _value;

    /// <summary>The public listener bound <paramref name="endPoint"/>.</summary>
    public void OnBound(IPEndPoint endPoint)
    {
        IPAddress address = endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any)
            ? FirstIPv4() ?? IPAddress.Loopback
            : endPoint.Address;
        _value ??= new IPEndPoint(address, endPoint.Port).ToString();
    }

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
