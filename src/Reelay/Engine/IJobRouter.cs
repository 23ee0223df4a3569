using Reelay.Catalog;
using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Engine;

/// <summary>Chooses the provider deployment for a validated request.</summary>
public interface IJobRouter
{
    /// <summary>The deployment to use, or throws unsupported_model with a clear reason when none can serve the request exactly.</summary>
    JobRoute Resolve(JobSpec spec);

    /// <summary>The provider instance by name (for jobs already pinned to it), or null when it is no longer configured.</summary>
    IVideoProvider? FindProvider(string name);

    /// <summary>Every configured provider instance.</summary>
    IReadOnlyCollection<IVideoProvider> Providers { get; }
}

/// <summary>A routing decision.</summary>
/// <param name="Provider">The provider instance.</param>
/// <param name="UpstreamModel">The upstream's id for the model.</param>
/// <param name="StandIn">True when the sandbox renders in place of another model (explicit operator opt-in).</param>
/// <param name="Note">What the job will tell clients about how it is rendered, if anything.</param>
public sealed record JobRoute(IVideoProvider Provider, string UpstreamModel, bool StandIn, string? Note);

/// <summary>
/// The embedded default: the sandbox serves the "sandbox" model, and stands in for other catalog models only when the
/// operator lists them in Reelay:Sandbox:StandInFor. Upstream routing with deployments and failover replaces it.
/// </summary>
public sealed class SandboxOnlyRouter : IJobRouter
{
    /// <summary>The sandbox's public model name.</summary>
    public const string SandboxModel = "sandbox";

    private readonly IVideoProvider? _sandbox;
    private readonly HashSet<string> _standInFor;
    private readonly bool _standInForAll;

    /// <summary>Creates the router.</summary>
    public SandboxOnlyRouter(IEnumerable<IVideoProvider> providers, ReelayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Providers = providers.ToList();
        _sandbox = Providers.FirstOrDefault(p => p.Name == "sandbox");
        _standInFor = new HashSet<string>(options.Sandbox.StandInFor, StringComparer.Ordinal);
        _standInForAll = _standInFor.Contains("*");
    }

    /// <inheritdoc />
    public IReadOnlyCollection<IVideoProvider> Providers { get; }

    /// <inheritdoc />
    public IVideoProvider? FindProvider(string name) => Providers.FirstOrDefault(p => p.Name == name);

    /// <inheritdoc />
    public JobRoute Resolve(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var model = spec.Model.Name;
        if (_sandbox is not null && model == SandboxModel)
        {
            return new JobRoute(_sandbox, SandboxModel, false, "Rendered by the Reelay sandbox: a local ffmpeg renderer, not an AI model.");
        }

        if (_sandbox is not null && (_standInForAll || _standInFor.Contains(model)))
        {
            return new JobRoute(_sandbox, SandboxModel, true, $"Rendered by the Reelay sandbox (local ffmpeg, not AI) standing in for model '{model}', as the operator configured.");
        }

        throw new ReelayException(
            ErrorCodes.UnsupportedModel,
            $"Model '{model}' is in the catalog but no provider deployment serves it on this gateway. Use model 'sandbox', or ask the operator to configure a deployment.",
            "model");
    }
}
