using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Reelay.Server.Hosting;

/// <summary>
/// The one place that decides the scheme, host and path base of every absolute URL Reelay hands out (result and signed
/// content URLs in every dialect, notify_hook bodies). URLs are computed when a response or a webhook body is rendered,
/// never stored, so that a job created before a restart (or before Reelay:PublicBaseUrl was set) gets the current address.
/// </summary>
public sealed class PublicUrls
{
    private readonly string? _configured;
    private readonly IServiceProvider _services;

    /// <summary>Creates the resolver from the validated options.</summary>
    public PublicUrls(ReelayServerOptions options, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        _configured = string.IsNullOrEmpty(options.PublicBaseUrl) ? null : options.PublicBaseUrl.TrimEnd('/');
        _services = services;
    }

    /// <summary>Whether Reelay:PublicBaseUrl is set.</summary>
    public bool IsConfigured => _configured is not null;

    /// <summary>
    /// The base URL (no trailing slash): Reelay:PublicBaseUrl when set; otherwise the request's scheme, host and path base
    /// (as rewritten by the forwarded headers of a trusted proxy); without a request, the address this server listens on.
    /// </summary>
    public string BaseUrl(HttpContext? context)
    {
        if (_configured is not null)
        {
            return _configured;
        }

        if (context is not null)
        {
            return $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}";
        }

        return ListeningBaseUrl();
    }

    /// <summary>An absolute URL for <paramref name="pathAndQuery"/> (which starts with '/').</summary>
    public string Absolute(HttpContext? context, string pathAndQuery) => BaseUrl(context) + pathAndQuery;

    private string ListeningBaseUrl()
    {
        var addresses = _services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses)
        {
            if (Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Port > 0)
            {
                var host = uri.Host is "0.0.0.0" or "[::]" or "::" or "+" or "*" ? "127.0.0.1" : uri.Host;
                return $"{uri.Scheme}://{host}:{uri.Port}";
            }
        }

        return ReelayServer.DefaultUrl;
    }
}
