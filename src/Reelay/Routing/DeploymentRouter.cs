using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Routing;

/// <summary>One configured deployment of a public model, with its upstream model ids resolved.</summary>
/// <param name="Provider">The provider instance name.</param>
/// <param name="TextModel">The upstream id for text-to-video, or null when the deployment has none.</param>
/// <param name="ImageModel">The upstream id for image-to-video, or null when the deployment has none.</param>
/// <param name="Weight">Share of first attempts; 0 means order only.</param>
public sealed record Deployment(string Provider, string? TextModel, string? ImageModel, int Weight)
{
    /// <summary>The upstream id for a mode.</summary>
    public string? ModelFor(VideoMode mode) => mode == VideoMode.ImageToVideo ? ImageModel : TextModel;

    /// <summary>The upstream id for reference-image jobs where it differs from the mode's (DashScope's wan2.6-r2v); null: the mode's.</summary>
    public string? ReferenceModel { get; init; }

    /// <summary>The upstream id for first+last frame jobs where it differs from image-to-video's; null: image-to-video's.</summary>
    public string? FirstLastModel { get; init; }

    /// <summary>The upstream id for a job: the reference or first+last one when the job needs it and one is set, else its mode's.</summary>
    public string? ModelFor(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Catalog.UpstreamModelIds.ExtraSlot(job) switch
        {
            VideoModes.Reference when ReferenceModel is not null => ReferenceModel,
            VideoModes.FirstLast when FirstLastModel is not null => FirstLastModel,
            _ => ModelFor(job.Mode),
        };
    }

    /// <summary>What the operator allows this deployment to do; null: whatever its provider offers.</summary>
    public IReadOnlyList<string>? Operations { get; init; }
}

/// <summary>
/// Routes a public model to its configured deployments, in order, skipping (with a reason) each one that cannot serve the
/// job exactly. With weights, the first attempt is spread by weight (stable per job id), and the rest follow in order.
/// The sandbox serves the "sandbox" model, and stands in for other models only when the operator opts in, after every
/// configured deployment.
/// </summary>
public sealed class DeploymentRouter : IJobRouter
{
    /// <summary>The sandbox's public model name.</summary>
    public const string SandboxModel = "sandbox";

    private readonly Dictionary<string, IVideoProvider> _byName;
    private readonly IReadOnlyDictionary<string, IReadOnlyList<Deployment>> _routes;
    private readonly IVideoProvider? _sandbox;
    private readonly HashSet<string> _standInFor;
    private readonly bool _standInForAll;
    private readonly ProviderCircuits? _circuits;

    /// <summary>Creates the router over every provider instance (the sandbox included when enabled).</summary>
    public DeploymentRouter(IEnumerable<IVideoProvider> providers, IReadOnlyDictionary<string, IReadOnlyList<Deployment>> routes, IEnumerable<string> standInFor, ProviderCircuits? circuits = null)
    {
        _circuits = circuits;
        ArgumentNullException.ThrowIfNull(providers);
        Providers = providers.ToList();
        _byName = Providers.ToDictionary(p => p.Name, StringComparer.Ordinal);
        _routes = routes;
        _sandbox = _byName.GetValueOrDefault(SandboxModel);
        _standInFor = new HashSet<string>(standInFor, StringComparer.Ordinal);
        _standInForAll = _standInFor.Contains("*");
    }

    /// <summary>The embedded default: the sandbox only, standing in where the options say so.</summary>
    public static DeploymentRouter SandboxOnly(IEnumerable<IVideoProvider> providers, ReelayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new DeploymentRouter(providers, new Dictionary<string, IReadOnlyList<Deployment>>(), options.Sandbox.StandInFor);
    }

    /// <inheritdoc />
    public IReadOnlyCollection<IVideoProvider> Providers { get; }

    /// <summary>This node's circuits, when routing uses them.</summary>
    public ProviderCircuits? Circuits => _circuits;

    /// <inheritdoc />
    public bool IsAvailable(string provider) => _circuits?.IsAvailable(provider) ?? true;

    /// <inheritdoc />
    public IVideoProvider? FindProvider(string name) => _byName.GetValueOrDefault(name);

    /// <inheritdoc />
    public IReadOnlyList<JobRoute> Plan(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var model = job.Model;
        if (job.Operation != JobOperation.Generate)
        {
            return PlanDerived(job);
        }

        if (model == SandboxModel)
        {
            return _sandbox is not null
                ? [new JobRoute(_sandbox, SandboxModel, false, "Rendered by the Reelay sandbox: a local ffmpeg renderer, not an AI model.")]
                : throw new ReelayException(ErrorCodes.UnsupportedModel, "Model 'sandbox' is turned off on this gateway (Reelay:Sandbox:Enabled is false).", "model");
        }

        var plan = new List<JobRoute>();
        var skipped = new List<string>();
        if (_routes.TryGetValue(model, out var deployments))
        {
            foreach (var deployment in Order(deployments, job.Id))
            {
                var upstream = deployment.ModelFor(job);
                if (!_byName.TryGetValue(deployment.Provider, out var provider))
                {
                    skipped.Add($"{deployment.Provider}: the provider instance is turned off");
                }
                else if (upstream is null)
                {
                    skipped.Add($"{deployment.Provider}: no upstream model for {(job.Mode == VideoMode.ImageToVideo ? "image-to-video" : "text-to-video")}");
                }
                else if (job.Characters.Count > 0 && !Offers(provider, deployment, JobOperations.Characters))
                {
                    skipped.Add($"{deployment.Provider}: does not take characters");
                }
                else if (provider.CheckSupport(job, upstream) is { } reason)
                {
                    skipped.Add($"{deployment.Provider} ({upstream}): {reason}");
                }
                else
                {
                    plan.Add(new JobRoute(provider, upstream, false, null));
                }
            }
        }

        if (_sandbox is not null && (_standInForAll || _standInFor.Contains(model)))
        {
            plan.Add(new JobRoute(_sandbox, SandboxModel, true, $"Rendered by the Reelay sandbox (local ffmpeg, not AI) standing in for model '{model}', as the operator configured."));
        }

        if (plan.Count > 0)
        {
            return plan;
        }

        var why = deployments is null or { Count: 0 }
            ? "no provider deployment serves it on this gateway. Use model 'sandbox', or ask the operator to configure a deployment"
            : "no deployment can serve this request exactly: " + string.Join("; ", skipped);
        throw new ReelayException(ErrorCodes.UnsupportedModel, $"Model '{model}' is in the catalog but {why}.", "model");
    }

    private static bool Offers(IVideoProvider provider, Deployment? deployment, string operation) =>
        provider.Operations.Contains(operation) && (deployment?.Operations is null || deployment.Operations.Contains(operation));

    // A remix, edit or extension is pinned to the provider instance and upstream model that made its source: only there
    // does the upstream know the source's id. The sandbox renders from the stored source video itself.
    private List<JobRoute> PlanDerived(Job job)
    {
        var operation = job.Operation.ToWire();
        var sourceProvider = job.SourceProvider ?? throw new InvalidOperationException($"Job {job.Id} derives from a job without a provider.");
        if (sourceProvider == SandboxModel)
        {
            if (_sandbox is null)
            {
                throw new ReelayException(ErrorCodes.UnsupportedModel, $"The {operation} of a sandbox video needs the sandbox, which is turned off on this gateway.", "model");
            }

            var standIn = job.Model != SandboxModel;
            return [new JobRoute(_sandbox, SandboxModel, standIn, standIn
                ? $"Rendered by the Reelay sandbox (local ffmpeg, not AI) standing in for model '{job.Model}', as the operator configured."
                : "Rendered by the Reelay sandbox: a local ffmpeg renderer, not an AI model.")];
        }

        var upstream = job.SourceUpstreamModel ?? throw new InvalidOperationException($"Job {job.Id} derives from a job without an upstream model.");
        string why;
        if (!_byName.TryGetValue(sourceProvider, out var provider))
        {
            why = $"the provider instance that made the source video ({sourceProvider}) is turned off";
        }
        else
        {
            var deployment = _routes.TryGetValue(job.Model, out var deployments) ? deployments.FirstOrDefault(d => d.Provider == sourceProvider) : null;
            if (!Offers(provider, deployment, operation))
            {
                why = $"the deployment that made the source video ({sourceProvider}, {upstream}) does not offer it";
            }
            else if (provider.CheckSupport(job, upstream) is { } reason)
            {
                why = $"the deployment that made the source video ({sourceProvider}, {upstream}) cannot serve this request exactly: {reason}";
            }
            else
            {
                return [new JobRoute(provider, upstream, false, null)];
            }
        }

        throw new ReelayException(ErrorCodes.UnsupportedModel, $"The {operation} operation of model '{job.Model}' is not available for this video: {why}.", "model");
    }

    private static IEnumerable<Deployment> Order(IReadOnlyList<Deployment> deployments, string jobId)
    {
        var total = deployments.Sum(d => Math.Max(0, d.Weight));
        if (total <= 0)
        {
            return deployments;
        }

        // Stable per job: a job's plan must not change between the submit and a failover.
        var point = (long)(Fnv1a(jobId) % (ulong)total);
        Deployment? first = null;
        foreach (var d in deployments)
        {
            point -= Math.Max(0, d.Weight);
            if (d.Weight > 0 && point < 0)
            {
                first = d;
                break;
            }
        }

        return first is null ? deployments : deployments.Where(d => !ReferenceEquals(d, first)).Prepend(first);
    }

    private static ulong Fnv1a(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }
}
