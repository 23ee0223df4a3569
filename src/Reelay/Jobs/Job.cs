namespace Reelay.Jobs;

/// <summary>
/// A stored job. Immutable: the engine makes changed copies with <c>with</c> and the store writes them with
/// compare-and-set on <see cref="Version"/>.
/// </summary>
public sealed record Job
{
    /// <summary>Public id, e.g. video_3f2a....</summary>
    public required string Id { get; init; }

    /// <summary>The API key id that owns the job.</summary>
    public required string Owner { get; init; }

    /// <summary>Public model name.</summary>
    public required string Model { get; init; }

    /// <summary>Text or image to video.</summary>
    public required VideoMode Mode { get; init; }

    /// <summary>The prompt.</summary>
    public string? Prompt { get; init; }

    /// <summary>Requested length in seconds.</summary>
    public required int DurationSeconds { get; init; }

    /// <summary>Output width in pixels.</summary>
    public required int Width { get; init; }

    /// <summary>Output height in pixels.</summary>
    public required int Height { get; init; }

    /// <summary>The resolution tier the request named, if any ("720p").</summary>
    public string? Resolution { get; init; }

    /// <summary>The aspect ratio the request named, if any ("16:9").</summary>
    public string? AspectRatio { get; init; }

    /// <summary>The seed, if any.</summary>
    public long? Seed { get; init; }

    /// <summary>Validated model options, with defaults filled in.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = EmptyMap;

    /// <summary>Storage key of the stored first frame, for image-to-video.</summary>
    public string? InputImageKey { get; init; }

    /// <summary>Current state.</summary>
    public required JobStatus Status { get; init; }

    /// <summary>0-100.</summary>
    public int Progress { get; init; }

    /// <summary>Why it failed, for failed and cancelled jobs.</summary>
    public JobError? Error { get; init; }

    /// <summary>When it was accepted.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Last change.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When an upstream accepted it.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When it reached a terminal state.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>When its content expires (null: kept).</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>It fails with deadline_exceeded if not finished by then.</summary>
    public required DateTimeOffset Deadline { get; init; }

    /// <summary>Provider instance the job is (or was last) routed to.</summary>
    public string? Provider { get; init; }

    /// <summary>The upstream's model id.</summary>
    public string? UpstreamModel { get; init; }

    /// <summary>The upstream's task id, once accepted.</summary>
    public string? UpstreamId { get; init; }

    /// <summary>How many times a submit was started.</summary>
    public int SubmitAttempts { get; init; }

    /// <summary>
    /// The last submit call that was about to reach an upstream, written durably immediately before its HTTP request
    /// was sent. A job in <see cref="JobStatus.Submitting"/> whose record is missing or names an earlier attempt than
    /// <see cref="SubmitAttempts"/> never reached the upstream on its current attempt.
    /// </summary>
    public SubmitCall? SubmitCall { get; init; }

    /// <summary>Storage key of the video.</summary>
    public string? ResultKey { get; init; }

    /// <summary>Storage key of the thumbnail.</summary>
    public string? ThumbnailKey { get; init; }

    /// <summary>Size of the stored video in bytes.</summary>
    public long? ResultBytes { get; init; }

    /// <summary>Duration of the stored video as measured by ffprobe.</summary>
    public double? ResultDurationSeconds { get; init; }

    /// <summary>Lower-case hex SHA-256 of the stored video, computed while it was stored.</summary>
    public string? ResultSha256 { get; init; }

    /// <summary>Width of the stored video in pixels, as measured by ffprobe.</summary>
    public int? ResultWidth { get; init; }

    /// <summary>Height of the stored video in pixels, as measured by ffprobe.</summary>
    public int? ResultHeight { get; init; }

    /// <summary>Storage key of the spritesheet (a 5x2 grid of ten frames sampled inside the video: WebP, or JPEG for jobs finished by older versions), when one was made.</summary>
    public string? SpritesheetKey { get; init; }

    /// <summary>When the retention sweeper deleted the job's stored content (video, thumbnail, spritesheet, input image).</summary>
    public DateTimeOffset? ContentDeletedAt { get; init; }

    /// <summary>A note shown to clients, e.g. that the sandbox stood in for another model.</summary>
    public string? Note { get; init; }

    /// <summary>Webhook URL.</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>The webhook events the client asked for (e.g. job.succeeded); null means every event.</summary>
    public IReadOnlyList<string>? WebhookEvents { get; init; }

    /// <summary>Client metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = EmptyMap;

    /// <summary>The client's idempotency key.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>The dialect that created it.</summary>
    public string? Dialect { get; init; }

    /// <summary>Soft-deleted: invisible to clients, content removed.</summary>
    public DateTimeOffset? DeletedAt { get; init; }

    /// <summary>Compare-and-set version, incremented by the store on each write.</summary>
    public long Version { get; init; }

    /// <summary>What the job does (generate, or remix/edit/extend a completed job); kept in reserved options.</summary>
    public JobOperation Operation => JobOperations.TryParse(Options.GetValueOrDefault(JobOperations.OperationKey)) ?? JobOperation.Generate;

    /// <summary>For remix, edit and extend: the id of the completed job it derives from.</summary>
    public string? SourceJobId => Options.GetValueOrDefault(JobOperations.SourceKey);

    /// <summary>For remix, edit and extend: the provider instance that made the source (a derived job is pinned to it).</summary>
    public string? SourceProvider => Options.GetValueOrDefault(JobOperations.SourceProviderKey);

    /// <summary>For remix, edit and extend: the upstream model that made the source.</summary>
    public string? SourceUpstreamModel => Options.GetValueOrDefault(JobOperations.SourceUpstreamModelKey);

    /// <summary>For remix, edit and extend: the source's id at its upstream.</summary>
    public string? SourceUpstreamId => Options.GetValueOrDefault(JobOperations.SourceUpstreamIdKey);

    /// <summary>For remix, edit and extend: the storage key of the source's video.</summary>
    public string? SourceResultKey => Options.GetValueOrDefault(JobOperations.SourceResultKey);

    /// <summary>
    /// For a succeeded job: how its upstream names the result in a later request (Veo's file uri), when the provider
    /// reported one. An upstream handle, not a client URL: never rendered to clients.
    /// </summary>
    public string? UpstreamResult => Options.GetValueOrDefault(JobOperations.UpstreamResultKey);

    /// <summary>For remix, edit and extend: the source's <see cref="UpstreamResult"/>, when it had one.</summary>
    public string? SourceUpstreamResult => Options.GetValueOrDefault(JobOperations.SourceUpstreamResultKey);

    /// <summary>For extend: the length of the new segment; <see cref="DurationSeconds"/> is the stitched total.</summary>
    public int? ExtensionSeconds => int.TryParse(Options.GetValueOrDefault(JobOperations.ExtensionSecondsKey), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var s) ? s : null;

    /// <summary>The characters the job shows (referenced by id in the request).</summary>
    public IReadOnlyList<CharacterReference> Characters => JobOperations.ReadCharacters(Options.GetValueOrDefault(JobOperations.CharactersKey));

    /// <summary>The storage key of the stored last frame (first+last frame jobs), kept in a reserved option.</summary>
    public string? LastFrameKey => Options.GetValueOrDefault(JobOperations.LastFrameKey);

    /// <summary>The storage keys of the stored reference images, in the client's order (empty when none).</summary>
    public IReadOnlyList<string> ReferenceImageKeys => JobOperations.ReadKeys(Options.GetValueOrDefault(JobOperations.ReferenceImageKeys));

    /// <summary>The output size as "WxH".</summary>
    public string Size => $"{Width}x{Height}";

    private static readonly IReadOnlyDictionary<string, string> EmptyMap = new Dictionary<string, string>();

    /// <summary>A new random job id.</summary>
    public static string NewId() => "video_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>The client reference Reelay sends upstream (where the API takes one) for submit attempt <paramref name="attempt"/>: reelay-&lt;id&gt;-&lt;attempt&gt;.</summary>
    public string ClientReference(int attempt) => $"reelay-{Id}-{attempt.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>Whether <see cref="SubmitCall"/> records the current attempt, i.e. that attempt's request may have reached the upstream.</summary>
    public bool HasCallInFlight => SubmitCall is { } call && call.Attempt == SubmitAttempts;
}

/// <summary>One submit call to an upstream, recorded before its request is sent (so a restart knows it may have arrived).</summary>
/// <param name="Attempt">The job's submit attempt number (1, 2, ...), as <see cref="Job.SubmitAttempts"/> was then.</param>
/// <param name="Provider">The provider instance called.</param>
/// <param name="UpstreamModel">The upstream model id sent.</param>
/// <param name="Reference">The client reference sent where the API takes one (see <see cref="Job.ClientReference"/>).</param>
/// <param name="StartedAt">When the request was about to be sent (Reelay's clock).</param>
public sealed record SubmitCall(int Attempt, string Provider, string UpstreamModel, string Reference, DateTimeOffset StartedAt);
