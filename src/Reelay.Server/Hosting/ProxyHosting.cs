using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Reelay.Server.Hosting;

/// <summary>
/// Running behind a reverse proxy: Reelay:PublicBaseUrl (<see cref="PublicUrls"/>) and ASP.NET Core's
/// ForwardedHeadersMiddleware, which honours X-Forwarded-For/-Proto/-Host only from Reelay:ForwardedHeaders:KnownProxies
/// and KnownNetworks (none by default, so forwarded headers are ignored unless an operator names the proxy).
/// </summary>
public static class ProxyHosting
{
    /// <summary>Registers <see cref="PublicUrls"/> and the forwarded-headers settings.</summary>
    public static IServiceCollection AddReelayProxySupport(this IServiceCollection services)
    {
        services.AddSingleton<PublicUrls>();
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ReelayServerOptions>>((forwarded, reelay) =>
        {
            var settings = reelay.Value.ForwardedHeaders;

            // The framework trusts loopback by default; Reelay trusts exactly what the operator lists.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            if (!settings.Enabled)
            {
                forwarded.ForwardedHeaders = ForwardedHeaders.None;
                return;
            }

            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
            forwarded.ForwardLimit = settings.ForwardLimit;
            foreach (var proxy in settings.KnownProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            foreach (var network in settings.KnownNetworks)
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        });
        return services;
    }

    /// <summary>Adds the forwarded-headers middleware (first, so that everything after it sees the client's scheme, host and address).</summary>
    public static IApplicationBuilder UseReelayForwardedHeaders(this IApplicationBuilder app) => app.UseForwardedHeaders();
}
