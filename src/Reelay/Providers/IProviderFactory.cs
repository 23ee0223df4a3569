using Reelay.Jobs;

namespace Reelay.Providers;

/// <summary>
/// Creates provider instances of one type from configuration. Each provider folder has one; registering a provider
/// type is one <c>services.AddSingleton&lt;IProviderFactory, …&gt;()</c> line.
/// </summary>
public interface IProviderFactory
{
    /// <summary>The type name used in configuration (Reelay:Providers:&lt;name&gt;:Type).</summary>
    string Type { get; }

    /// <summary>
    /// The upstream's model id for a public model and mode when the catalog names none (its <c>upstreamModels</c>), or
    /// null. The shipped defaults are catalog data; a type overrides this only for ids it can derive.
    /// </summary>
    string? DefaultUpstreamModel(string publicModel, VideoMode mode) => null;

    /// <summary>
    /// Whether this type serves only upstream models the catalog describes (its <c>upstreams.&lt;type&gt;</c> section):
    /// then a route to an undescribed id is a start-up error, and the adapter reads each model's facts from the catalog.
    /// </summary>
    bool UpstreamModelsFromCatalog => false;

    /// <summary>Creates an instance. <paramref name="options"/> were validated; <paramref name="http"/> is the instance's own client.</summary>
    IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services);
}

/// <summary>Shared services an adapter may use.</summary>
/// <param name="Http">The instance's HTTP client: its base URL, timeout and request-rate limit.</param>
/// <param name="FirstFrames">Reads, checks and fits first frames.</param>
/// <param name="Time">The clock.</param>
/// <param name="LoggerFactory">For the adapter's source-generated log.</param>
/// <param name="Catalog">The model catalog (upstream model facts); null: the shipped catalog.</param>
/// <param name="Callbacks">Per-job callback URLs under Reelay:PublicBaseUrl; null: no callbacks.</param>
public sealed record ProviderServices(Http.UpstreamHttpClient Http, FirstFrames FirstFrames, TimeProvider Time, Microsoft.Extensions.Logging.ILoggerFactory LoggerFactory, Catalog.ModelCatalog? Catalog = null, Callbacks.CallbackUrls? Callbacks = null);

/// <summary>What a probe of an instance found.</summary>
/// <param name="Ok">Reachable and the credential was accepted.</param>
/// <param name="Detail">What was checked, in words; never the credential.</param>
public sealed record ProbeResult(bool Ok, string Detail);
