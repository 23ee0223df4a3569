using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Reelay.Catalog;
using Reelay.Jobs;
using Reelay.Providers.Http;
using Reelay.Routing;

namespace Reelay.Providers;

/// <summary>
/// Builds the configured provider instances (Reelay:Providers) with their factories and resolves the routes
/// (Reelay:Routes) into deployments with upstream model ids. Everything is checked here, once, at start-up, and every
/// problem is reported by its configuration key; credentials never appear in a message.
/// </summary>
public sealed partial class ProviderRegistry : IDisposable
{
    private readonly List<UpstreamHttpClient> _clients = [];

    /// <summary>Builds the registry; throws <see cref="InvalidOperationException"/> listing every configuration problem.</summary>
    public ProviderRegistry(ReelayOptions options, IEnumerable<IProviderFactory> factories, ModelCatalog catalog, FirstFrames firstFrames, TimeProvider time, ILoggerFactory loggers, IEnumerable<IVideoProvider> builtIn, Callbacks.CallbackUrls? callbacks = null, Cluster.IUpstreamRateLimits? rateLimits = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(catalog);
        var byType = factories.ToDictionary(f => f.Type, StringComparer.OrdinalIgnoreCase);
        var errors = Check(options, byType, catalog);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("The provider configuration is not valid:" + Environment.NewLine + "  - " + string.Join(Environment.NewLine + "  - ", errors));
        }

        var providers = new List<IVideoProvider>(builtIn);
        foreach (var (name, instance) in options.Providers.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!instance.Enabled)
            {
                continue;
            }

            var http = new UpstreamHttpClient(name, new Uri(instance.BaseUrl!), instance.Timeout, instance.MaxRequestsPerSecond, time, rateLimits: rateLimits);
            _clients.Add(http);
            providers.Add(byType[instance.Type].Create(name, instance, new ProviderServices(http, firstFrames, time, loggers, catalog, callbacks)));
        }

        Providers = providers;
        var routes = new Dictionary<string, IReadOnlyList<Deployment>>(StringComparer.Ordinal);
        foreach (var (model, deployments) in options.Routes)
        {
            routes[model] = deployments.Select(d =>
            {
                var factory = byType[options.Providers[d.Provider].Type];
                return new Deployment(d.Provider, UpstreamModel(d, factory, catalog, model, VideoMode.TextToVideo), UpstreamModel(d, factory, catalog, model, VideoMode.ImageToVideo), d.Weight)
                {
                    Operations = d.Operations,
                    ReferenceModel = SlotModel(d, factory, catalog, model, VideoModes.Reference),
                    FirstLastModel = SlotModel(d, factory, catalog, model, VideoModes.FirstLast),
                };
            }).ToList();
        }

        Routes = routes;
    }

    /// <summary>Every provider instance: the built-in ones (the sandbox) and the enabled configured ones.</summary>
    public IReadOnlyList<IVideoProvider> Providers { get; }

    /// <summary>The resolved routes by public model.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Deployment>> Routes { get; }

    /// <summary>The HTTP clients of the configured instances (for request counts).</summary>
    public IReadOnlyList<UpstreamHttpClient> Clients => _clients;

    /// <summary>Every problem with Reelay:Providers and Reelay:Routes, each naming its key.</summary>
    public static List<string> Check(ReelayOptions options, IReadOnlyDictionary<string, IProviderFactory> factories, ModelCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(factories);
        ArgumentNullException.ThrowIfNull(catalog);
        var errors = new List<string>();
        var known = string.Join(", ", factories.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, p) in options.Providers)
        {
            var key = $"Reelay:Providers:{name}";
            if (!InstanceName().IsMatch(name) || name.Equals(DeploymentRouter.SandboxModel, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{key}: the instance name must be 1-40 letters, digits, '-' or '_', and not 'sandbox' (configure the sandbox under Reelay:Sandbox).");
            }

            if (!factories.ContainsKey(p.Type))
            {
                errors.Add($"{key}:Type '{p.Type}' is not a provider type; allowed: {known}.");
            }

            if (!Uri.TryCreate(p.BaseUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.UserInfo))
            {
                errors.Add($"{key}:BaseUrl must be an absolute http or https URL without a query or credentials (got '{(p.BaseUrl is null ? "" : Redact(p.BaseUrl))}').");
            }

            if (string.IsNullOrWhiteSpace(p.ApiKey))
            {
                errors.Add($"{key}:ApiKey is required (set it with the environment variable Reelay__Providers__{name}__ApiKey to keep it out of files).");
            }

            if (p.Timeout <= TimeSpan.Zero || p.Timeout > TimeSpan.FromMinutes(10))
            {
                errors.Add($"{key}:Timeout must be more than 0 and at most 10 minutes (got {p.Timeout}).");
            }

            if (p.MaxConcurrentJobs is < 1 or > 100_000)
            {
                errors.Add($"{key}:MaxConcurrentJobs must be 1 to 100000 (got {p.MaxConcurrentJobs}).");
            }

            if (p.MaxRequestsPerSecond is < 0 or > 100_000 || double.IsNaN(p.MaxRequestsPerSecond))
            {
                errors.Add($"{key}:MaxRequestsPerSecond must be 0 (no limit) to 100000 (got {p.MaxRequestsPerSecond}).");
            }

            if (p.PollInterval < TimeSpan.FromMilliseconds(50) || p.MaxPollInterval < p.PollInterval || p.MaxPollInterval > TimeSpan.FromHours(1))
            {
                errors.Add($"{key}: PollInterval must be at least 50 ms and MaxPollInterval between PollInterval and 1 hour (got {p.PollInterval} and {p.MaxPollInterval}).");
            }

            errors.AddRange((p.Circuit ?? new()).Validate(key + ":Circuit"));
            errors.AddRange((p.Callbacks ?? new()).Validate(key + ":Callbacks"));
        }

        foreach (var (model, deployments) in options.Routes)
        {
            var key = $"Reelay:Routes:{model}";
            var definition = catalog.Find(model);
            if (definition is null)
            {
                errors.Add($"{key}: '{model}' is not a model in the catalog; models: {string.Join(", ", catalog.Models.Select(m => m.Name))}.");
                continue;
            }

            if (model == DeploymentRouter.SandboxModel)
            {
                errors.Add($"{key}: the sandbox model is served by the sandbox; it has no deployments.");
                continue;
            }

            for (var i = 0; i < deployments.Count; i++)
            {
                var d = deployments[i];
                var at = $"{key}:{i}";
                if (!options.Providers.TryGetValue(d.Provider, out var instance))
                {
                    errors.Add($"{at}:Provider '{d.Provider}' is not an instance under Reelay:Providers; instances: {(options.Providers.Count == 0 ? "(none)" : string.Join(", ", options.Providers.Keys))}.");
                    continue;
                }

                if (d.Weight < 0)
                {
                    errors.Add($"{at}:Weight must be 0 or more (got {d.Weight}).");
                }

                if (!factories.TryGetValue(instance.Type, out var factory))
                {
                    continue;
                }

                // first_last jobs use the i2v upstream model; reference-only jobs (no first frame) the t2v one.
                foreach (var mode in definition.Modes.Select(m => m == VideoModes.Reference ? VideoModes.TextToVideo : m).Where(m => m is VideoModes.TextToVideo or VideoModes.ImageToVideo).Distinct().Select(VideoModeExtensions.ParseWire))
                {
                    var field = mode == VideoMode.ImageToVideo && d.ImageModel is not null ? "ImageModel" : "Model";
                    if (UpstreamModel(d, factory, catalog, model, mode) is not { } upstream)
                    {
                        field = mode == VideoMode.ImageToVideo ? "ImageModel" : "Model";
                        errors.Add($"{at}: the catalog names no default upstream model of provider type '{instance.Type}' for '{model}' ({(mode == VideoMode.ImageToVideo ? "image-to-video" : "text-to-video")}); set {at}:{field}, or add upstreamModels.{factory.Type} to the model with Reelay:Catalog:Path.");
                    }
                    else if (factory.UpstreamModelsFromCatalog && catalog.FindUpstream(factory.Type, upstream) is null)
                    {
                        var described = catalog.Upstreams.Where(u => string.Equals(u.Type, factory.Type, StringComparison.OrdinalIgnoreCase)).Select(u => u.Id).Order(StringComparer.Ordinal);
                        errors.Add($"{at}:{field} '{upstream}' is not an upstream model the catalog describes for provider type '{factory.Type}'; describe it under upstreams.{factory.Type} in the file of Reelay:Catalog:Path (described: {string.Join(", ", described)}).");
                    }
                }

                foreach (var (slot, field) in new[] { (VideoModes.Reference, "ReferenceModel"), (VideoModes.FirstLast, "FirstLastModel") })
                {
                    var explicitId = slot == VideoModes.Reference ? d.ReferenceModel : d.FirstLastModel;
                    if (explicitId is not null && !definition.Modes.Contains(slot))
                    {
                        errors.Add($"{at}:{field} is set, but model '{model}' has no {slot} mode.");
                    }
                    else if (SlotModel(d, factory, catalog, model, slot) is { } slotId && factory.UpstreamModelsFromCatalog && catalog.FindUpstream(factory.Type, slotId) is null)
                    {
                        errors.Add($"{at}:{field} '{slotId}' is not an upstream model the catalog describes for provider type '{factory.Type}'; describe it under upstreams.{factory.Type} in the file of Reelay:Catalog:Path.");
                    }
                }
            }
        }

        return errors;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }

    /// <summary>An explicit Model serves both modes unless ImageModel is set; otherwise the catalog's default for the type and mode.</summary>
    private static string? UpstreamModel(DeploymentOptions d, IProviderFactory factory, ModelCatalog catalog, string model, VideoMode mode) =>
        mode == VideoMode.ImageToVideo
            ? d.ImageModel ?? d.Model ?? catalog.DefaultUpstreamModel(model, factory.Type, mode) ?? factory.DefaultUpstreamModel(model, mode)
            : d.Model ?? catalog.DefaultUpstreamModel(model, factory.Type, mode) ?? factory.DefaultUpstreamModel(model, mode);

    /// <summary>
    /// The upstream id for reference or first+last jobs when it differs from the mode's: the deployment's own setting, or,
    /// when the deployment names no model at all, the catalog's slot; null: the mode's model serves them.
    /// </summary>
    private static string? SlotModel(DeploymentOptions d, IProviderFactory factory, ModelCatalog catalog, string model, string slot) =>
        (slot == VideoModes.Reference ? d.ReferenceModel : d.FirstLastModel)
        ?? (d.Model is null && d.ImageModel is null ? catalog.DefaultUpstreamModel(model, factory.Type, slot) : null);

    private static string Redact(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) ? $"{u.Scheme}://{u.Host}{(u.IsDefaultPort ? "" : ":" + u.Port)}{u.AbsolutePath}" : "(not a URL)";

    [GeneratedRegex("^[A-Za-z0-9_-]{1,40}$")]
    private static partial Regex InstanceName();
}
