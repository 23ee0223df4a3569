using Reelay.Media;

namespace Reelay.Providers;

/// <summary>
/// One upstream provider instance, configured under <c>Reelay:Providers:&lt;name&gt;</c>. The name is what jobs are
/// pinned to, so renaming an instance strands its running jobs.
/// </summary>
public sealed class ProviderInstanceOptions
{
    /// <summary>The adapter: modelverse, aimlapi, sora-relay, openai or vidu.</summary>
    public string Type { get; set; } = "";

    /// <summary>The API's base URL, e.g. https://api.umodelverse.ai (no trailing path for the task API).</summary>
    public string? BaseUrl { get; set; }

    /// <summary>The credential sent to this instance. Never logged, never in a response or an error.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Set false to keep the instance configured but unused (its pinned jobs fail over to nothing).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long one HTTP call to this instance may take (connect included).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Jobs this instance may have in flight (submitting or running) at once; more wait in Reelay's queue.</summary>
    public int MaxConcurrentJobs { get; set; } = 16;

    /// <summary>Upstream requests per second (submit, poll and download together); 0 means no limit.</summary>
    public double MaxRequestsPerSecond { get; set; } = 10;

    /// <summary>The first poll interval of a running job (it grows while nothing changes).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest poll interval.</summary>
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How a first frame is made to fit when this upstream demands an exact size: Crop (centre) or Pad.</summary>
    public ImageFitMode FirstFrameFit { get; set; } = ImageFitMode.Crop;

    /// <summary>This instance's circuit on each node: failures in a row that make routing skip it, and for how long.</summary>
    public Routing.CircuitOptions Circuit { get; set; } = new();

    /// <summary>Upstream callbacks (a shortcut: a callback makes Reelay poll the job at once; polling stays the backstop).</summary>
    public Callbacks.CallbackOptions Callbacks { get; set; } = new();
}

/// <summary>One deployment of a public model: a provider instance and the upstream's model id.</summary>
public sealed class DeploymentOptions
{
    /// <summary>The provider instance name (a key of Reelay:Providers).</summary>
    public string Provider { get; set; } = "";

    /// <summary>The upstream's model id, for both modes unless <see cref="ImageModel"/> is set; when unset, the provider type's default for the public model and each mode.</summary>
    public string? Model { get; set; }

    /// <summary>The upstream's model id for image-to-video, when the upstream names it differently from <see cref="Model"/>.</summary>
    public string? ImageModel { get; set; }

    /// <summary>
    /// The upstream's model id for reference-image jobs, when the upstream has a separate model for them (DashScope's
    /// wan2.6-r2v). Unset: the catalog's upstreamModels.&lt;type&gt;.reference when neither Model nor ImageModel is set,
    /// otherwise the mode's model.
    /// </summary>
    public string? ReferenceModel { get; set; }

    /// <summary>
    /// The upstream's model id for first+last frame jobs, when the upstream has a separate model for them. Unset: the
    /// catalog's upstreamModels.&lt;type&gt;.first_last when neither Model nor ImageModel is set, otherwise the image model.
    /// </summary>
    public string? FirstLastModel { get; set; }

    /// <summary>Relative share of first attempts among the deployments that have a weight; 0 means order only.</summary>
    public int Weight { get; set; }

    /// <summary>
    /// What this deployment may be used for (generate, remix, edit, extend, characters); unset: what its provider type
    /// offers. Lets an operator turn an operation off for one deployment.
    /// </summary>
    public List<string>? Operations { get; set; }
}
