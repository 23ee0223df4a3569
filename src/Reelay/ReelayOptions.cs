namespace Reelay;

/// <summary>
/// Reelay's configuration, bound from the "Reelay" section (appsettings.json, or environment variables such as
/// <c>Reelay__DataDirectory</c>). Validated at start-up; unknown keys are rejected. Every default is documented
/// once, in docs/configuration.md.
/// </summary>
public sealed class ReelayOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Reelay";

    /// <summary>Folder for the SQLite database, result files and the generated admin key. Relative paths are relative to the working directory.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>How long a job may take from submit to a terminal state before it fails with deadline_exceeded.</summary>
    public TimeSpan JobDeadline { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>The catalog.</summary>
    public Catalog.CatalogOptions Catalog { get; set; } = new();

    /// <summary>The job store.</summary>
    public Storage.StoreOptions Store { get; set; } = new();

    /// <summary>Result storage (videos, thumbnails, spritesheets, input images) and its retention.</summary>
    public Results.StorageOptions Storage { get; set; } = new();

    /// <summary>The sandbox provider.</summary>
    public Providers.Sandbox.SandboxOptions Sandbox { get; set; } = new();

    /// <summary>Limits on the ffmpeg and ffprobe child processes (watchdog, input image check).</summary>
    public Media.MediaOptions Media { get; set; } = new();

    /// <summary>Request and upload limits.</summary>
    public LimitsOptions Limits { get; set; } = new();

    /// <summary>The engine's scheduling knobs.</summary>
    public EngineOptions Engine { get; set; } = new();

    /// <summary>Upstream provider instances by name (Reelay:Providers:&lt;name&gt;). The sandbox is configured under <see cref="Sandbox"/>.</summary>
    public Dictionary<string, Providers.ProviderInstanceOptions> Providers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Price overrides: USD per second of video by model and resolution tier ("*" for every size), e.g.
    /// Reelay:Pricing:sora-2:720p = 0.12. An entry replaces the catalog's price for that tier; other tiers keep theirs.
    /// </summary>
    public Dictionary<string, Dictionary<string, decimal>> Pricing { get; set; } = new(StringComparer.Ordinal);

    /// <summary>API keys, their limits and money.</summary>
    public Accounts.AccountsOptions Accounts { get; set; } = new();

    /// <summary>Per public model, the ordered deployments to try (Reelay:Routes:&lt;model&gt;:0:Provider, ...).</summary>
    public Dictionary<string, List<Providers.DeploymentOptions>> Routes { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Signed webhooks (and the Sora relay's notify_hook): the durable outbox and its delivery schedule.</summary>
    public Webhooks.WebhookOptions Webhooks { get; set; } = new();

    /// <summary>The data directory as a full path.</summary>
    public string DataPath => Path.GetFullPath(DataDirectory);
}

/// <summary>Request and upload limits.</summary>
public sealed class LimitsOptions
{
    /// <summary>Largest request body in bytes (JSON or multipart, including an uploaded image).</summary>
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Largest input image in bytes.</summary>
    public long MaxImageBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>How long fetching a client's image URL may take.</summary>
    public TimeSpan ImageFetchTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Hosts or CIDR ranges that client URLs may reach although they are private (e.g. "10.1.0.0/16"). Empty by default.</summary>
    public List<string> AllowPrivateNetworks { get; set; } = [];
}

/// <summary>Engine knobs.</summary>
public sealed class EngineOptions
{
    /// <summary>Poll calls in flight at once per provider instance.</summary>
    public int MaxConcurrentPollsPerProvider { get; set; } = 64;

    /// <summary>
    /// Submit calls in flight at once per provider instance. They share the instance's request-rate limit with polls, first
    /// come first served, so this bounds how long a due poll can wait behind submits (slots freed together start their
    /// submits together).
    /// </summary>
    public int MaxConcurrentSubmitsPerProvider { get; set; } = 32;

    /// <summary>How long one upstream call (submit or poll) may take.</summary>
    public TimeSpan UpstreamCallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Delay before a submit that got a retry-later outcome is tried again (doubles each time, with jitter).</summary>
    public TimeSpan SubmitRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Submit attempts before a job fails with the last transient error.</summary>
    public int MaxSubmitAttempts { get; set; } = 5;

    /// <summary>Finished jobs whose result is copied (download, ffprobe, thumbnail) at once, across all providers.</summary>
    public int MaxConcurrentFinalizations { get; set; } = Math.Max(2, Environment.ProcessorCount);

    /// <summary>
    /// A job whose upstream has finished is not failed by its deadline while it waits for a finalization slot or is being
    /// stored: the provider has made (and billed) that video. When its first attempt starts, its deadline moves to at
    /// least now + this, once; an attempt that fails (an expired download URL) is retried until then. Zero: the deadline
    /// moves no more (a job waiting for a slot is still never failed meanwhile).
    /// </summary>
    public TimeSpan FinalizeGrace { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>This node's id in job claims; stable across restarts, so a restarted node takes its own jobs back at once.</summary>
    public string NodeId { get; set; } = Environment.MachineName;

    /// <summary>How long a claim on a job lasts unless renewed (renewed every third of it); a dead node's jobs are picked up after it.</summary>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(30);
}
