using System.Net;
using System.Net.Sockets;

namespace Reelay.Net;

/// <summary>
/// Decides which addresses a client-supplied URL may reach: public unicast only, unless an operator allowlists a
/// private range. Checked on the address actually connected, so DNS tricks and redirects cannot get around it.
/// </summary>
public sealed class AddressPolicy
{
    private static readonly IPNetwork[] Blocked =
    [
        IPNetwork.Parse("0.0.0.0/8"),          // "this" network
        IPNetwork.Parse("10.0.0.0/8"),         // private
        IPNetwork.Parse("100.64.0.0/10"),      // carrier-grade NAT
        IPNetwork.Parse("127.0.0.0/8"),        // loopback
        IPNetwork.Parse("169.254.0.0/16"),     // link-local, including the 169.254.169.254 metadata service
        IPNetwork.Parse("172.16.0.0/12"),      // private
        IPNetwork.Parse("192.0.0.0/24"),       // IETF protocol assignments
        IPNetwork.Parse("192.0.2.0/24"),       // documentation
        IPNetwork.Parse("192.168.0.0/16"),     // private
        IPNetwork.Parse("198.18.0.0/15"),      // benchmarking
        IPNetwork.Parse("198.51.100.0/24"),    // documentation
        IPNetwork.Parse("203.0.113.0/24"),     // documentation
        IPNetwork.Parse("224.0.0.0/4"),        // multicast
        IPNetwork.Parse("240.0.0.0/4"),        // reserved, broadcast
        IPNetwork.Parse("::/128"),             // unspecified
        IPNetwork.Parse("::1/128"),            // loopback
        IPNetwork.Parse("64:ff9b:1::/48"),     // local-use NAT64
        IPNetwork.Parse("100::/64"),           // discard
        IPNetwork.Parse("2001:db8::/32"),      // documentation
        IPNetwork.Parse("fc00::/7"),           // unique local
        IPNetwork.Parse("fe80::/10"),          // link-local
        IPNetwork.Parse("fec0::/10"),          // site-local (deprecated)
        IPNetwork.Parse("ff00::/8"),           // multicast
        IPNetwork.Parse("fd00:ec2::254/128"),  // AWS metadata over IPv6
    ];

    private readonly IPNetwork[] _allowed;

    /// <summary>Creates a policy; <paramref name="allowedNetworks"/> are CIDR ranges or single addresses that are allowed although private.</summary>
    public AddressPolicy(IEnumerable<string>? allowedNetworks = null)
    {
        _allowed = (allowedNetworks ?? []).Select(ParseNetwork).ToArray();
    }

    private static IPNetwork ParseNetwork(string text)
    {
        if (IPNetwork.TryParse(text, out var network))
        {
            return network;
        }

        if (IPAddress.TryParse(text, out var address))
        {
            return new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
        }

        throw new FormatException($"'{text}' is not an IP address or CIDR range (e.g. 10.1.0.0/16).");
    }

    /// <summary>Whether a connection to <paramref name="address"/> is allowed.</summary>
    public bool IsAllowed(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (_allowed.Any(n => n.Contains(address)))
        {
            return true;
        }

        return !Blocked.Any(n => n.BaseAddress.AddressFamily == address.AddressFamily && n.Contains(address));
    }
}
