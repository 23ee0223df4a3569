using Microsoft.Extensions.Options;
using Reelay.Client;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="ReelayClient"/> with dependency injection.</summary>
public static class ReelayClientServiceCollectionExtensions
{
    /// <summary>The name of the HttpClient the factory creates for <see cref="ReelayClient"/>.</summary>
    public const string HttpClientName = "Reelay.Client";

    /// <summary>
    /// Registers <see cref="ReelayClient"/> as a typed client of IHttpClientFactory, configured by
    /// <paramref name="configure"/> (bound once, as <c>IOptions&lt;ReelayClientOptions&gt;</c>). Returns the
    /// HttpClient builder so callers can add handlers or resilience.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the base address, API key and timeout.</param>
    /// <returns>The builder of the client's named HttpClient.</returns>
    public static IHttpClientBuilder AddReelayClient(this IServiceCollection services, Action<ReelayClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<ReelayClientOptions>().Configure(configure);

        // ReelayClient applies its own per-call timeout; HttpClient's would also cut long downloads short.
        return services
            .AddHttpClient(HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .AddTypedClient((http, provider) => new ReelayClient(http, provider.GetRequiredService<IOptions<ReelayClientOptions>>().Value));
    }
}
