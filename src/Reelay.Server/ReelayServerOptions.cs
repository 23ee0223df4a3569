using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reelay.Server.ApiDocuments;
using Reelay.Server.Content;
using Reelay.Server.Dialects.OpenAI;
using Reelay.Server.Events;
using Reelay.Server.Hosting;
using Reelay.Server.Telemetry;

namespace Reelay.Server;

/// <summary>
/// Settings only the HTTP server reads: the admin key, signed content URLs, the OpenAI dialect, event streams, the public
/// address and forwarded headers, the API documents, telemetry, the console log, content offload and the graceful stop.
/// They are bound from the same <c>Reelay</c> section as the library's <see cref="ReelayOptions"/>, so the keys users
/// write are unchanged (see docs/configuration.md); the library's unknown-key check knows them through
/// <see cref="ReelaySettingsExtension"/>, and their values are checked with the library's (one list of every problem).
/// </summary>
public sealed class ReelayServerOptions
{
    /// <summary>The bootstrap admin API key. Also read from the REELAY_ADMIN_KEY environment variable. When unset, serve generates one.</summary>
    public string? AdminKey { get; set; }

    /// <summary>How long a signed content URL (handed out by dialects whose clients download without a key) stays valid.</summary>
    public TimeSpan ContentUrlLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// The key that signs content URLs (at least 32 characters; its UTF-8 bytes are the HMAC key). Unset: generated once and
    /// kept in the data folder, or, on PostgreSQL, in the database so that every node shares it.
    /// </summary>
    public string? ContentUrlKey { get; set; }

    /// <summary>
    /// The key of the per-job callback URLs (at least 32 characters; its UTF-8 bytes are the HMAC key). Unset: generated
    /// once and kept in the data folder, or, on PostgreSQL, in the database so that every node shares it.
    /// </summary>
    public string? CallbackKey { get; set; }

    /// <summary>The OpenAI-compatible dialect.</summary>
    public OpenAIDialectOptions OpenAI { get; set; } = new();

    /// <summary>Live job event streams (GET /v1/videos/{id}/events).</summary>
    public EventsOptions Events { get; set; } = new();

    /// <summary>The longest a submit with <c>Prefer: wait=N</c> is held for its job to finish (0 turns synchronous waits off).</summary>
    public TimeSpan MaxPreferWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The address clients reach Reelay at (e.g. https://video.example.com or https://example.com/reelay), when it
    /// differs from the one Reelay listens on (behind a reverse proxy). Every absolute URL Reelay hands out (result and
    /// signed content URLs, notify_hook bodies) starts with it. Unset: the request's own scheme and host.
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>X-Forwarded-For/-Proto/-Host from trusted reverse proxies (off until a proxy or network is listed).</summary>
    public ForwardedHeadersSettings ForwardedHeaders { get; set; } = new();

    /// <summary>The OpenAPI documents (/openapi/{name}.json) and their browsable UI (/docs).</summary>
    public ApiDocumentsOptions ApiDocuments { get; set; } = new();

    /// <summary>Metrics and traces: Prometheus /metrics and OTLP export.</summary>
    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>The console log's format and the per-request line.</summary>
    public LoggingOptions Logging { get; set; } = new();

    /// <summary>How content requests are answered: by Reelay, or offloaded to nginx or S3 (Reelay:Content).</summary>
    public ContentOptions Content { get; set; } = new();

    /// <summary>How a stopping gateway drains (Reelay:Shutdown).</summary>
    public ShutdownOptions Shutdown { get; set; } = new();

    /// <summary>
    /// Every problem with these settings, each naming its key; empty when they are valid. <paramref name="storageKind"/> is
    /// Reelay:Storage:Kind (a library setting), which decides the content offloads allowed.
    /// </summary>
    public IEnumerable<string> Validate(string storageKind)
    {
        if (AdminKey is not null && AdminKey.Length < 16)
        {
            yield return "Reelay:AdminKey (or REELAY_ADMIN_KEY) must be at least 16 characters.";
        }

        if (ContentUrlKey is not null && ContentUrlKey.Length < 32)
        {
            yield return "Reelay:ContentUrlKey must be at least 32 characters (e.g. openssl rand -hex 32), or unset to generate one.";
        }

        if (CallbackKey is not null && CallbackKey.Length < 32)
        {
            yield return "Reelay:CallbackKey must be at least 32 characters (e.g. openssl rand -hex 32), or unset to generate one.";
        }

        if (ContentUrlLifetime < TimeSpan.FromMinutes(1) || ContentUrlLifetime > TimeSpan.FromDays(30))
        {
            yield return $"Reelay:ContentUrlLifetime must be 1 minute to 30 days (got {ContentUrlLifetime}).";
        }

        if (MaxPreferWait < TimeSpan.Zero || MaxPreferWait > TimeSpan.FromMinutes(10))
        {
            yield return $"Reelay:MaxPreferWait must be 0 to 10 minutes (got {MaxPreferWait}).";
        }

        if (PublicBaseUrl is { } publicBase
            && !(Uri.TryCreate(publicBase, UriKind.Absolute, out var baseUri) && (baseUri.Scheme == Uri.UriSchemeHttp || baseUri.Scheme == Uri.UriSchemeHttps)
                && string.IsNullOrEmpty(baseUri.Query) && string.IsNullOrEmpty(baseUri.Fragment) && string.IsNullOrEmpty(baseUri.UserInfo)))
        {
            yield return $"Reelay:PublicBaseUrl must be an absolute http or https URL without query, fragment or user info, e.g. https://video.example.com (got '{publicBase}').";
        }

        foreach (var proxy in ForwardedHeaders.KnownProxies.Where(p => !System.Net.IPAddress.TryParse(p, out _)))
        {
            yield return $"Reelay:ForwardedHeaders:KnownProxies entry '{proxy}' is not an IP address.";
        }

        foreach (var network in ForwardedHeaders.KnownNetworks.Where(n => !System.Net.IPNetwork.TryParse(n, out _)))
        {
            yield return $"Reelay:ForwardedHeaders:KnownNetworks entry '{network}' is not a CIDR range (e.g. 10.0.0.0/8).";
        }

        if (ForwardedHeaders.ForwardLimit is < 1 or > 10)
        {
            yield return $"Reelay:ForwardedHeaders:ForwardLimit must be 1 to 10 (got {ForwardedHeaders.ForwardLimit}).";
        }

        foreach (var error in Events.Validate().Concat(Telemetry.Validate()).Concat(Logging.Validate()).Concat(Shutdown.Validate()).Concat(Content.Validate(storageKind)))
        {
            yield return error;
        }
    }
}

/// <summary>
/// Registers <see cref="ReelayServerOptions"/>: bound from the Reelay section; its keys known to the library's check, and
/// its values checked with the library's (one list of every problem at start).
/// </summary>
public static class ReelayServerOptionsExtensions
{
    /// <summary>Adds the server's settings (after AddReelay).</summary>
    public static IServiceCollection AddReelayServerOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ReelayServerOptions>().Bind(configuration.GetSection(ReelayOptions.Section));
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ReelayServerOptions>>().Value);
        services.AddSingleton(new ReelaySettingsExtension(typeof(ReelayServerOptions), section =>
            (section.Get<ReelayServerOptions>() ?? new ReelayServerOptions()).Validate(section["Storage:Kind"] ?? new Results.StorageOptions().Kind)));
        return services;
    }
}
