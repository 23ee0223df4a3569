using Reelay.Jobs;

namespace Reelay.Providers;

/// <summary>
/// One upstream provider instance. An adapter only translates and classifies: canonical request to upstream
/// wire, upstream answer to an outcome. It never loops, sleeps or retries; the engine owns time.
/// </summary>
public interface IVideoProvider
{
    /// <summary>The instance name from configuration (e.g. "sandbox", "modelverse-main").</summary>
    string Name { get; }

    /// <summary>
    /// Null when this instance can serve <paramref name="job"/> exactly as <paramref name="upstreamModel"/> (its mode,
    /// duration, size and options); otherwise the reason it cannot, in words, so routing skips it instead of adjusting the job.
    /// </summary>
    string? CheckSupport(Job job, string upstreamModel);

    /// <summary>Checks that the instance is reachable and accepts its credential, without starting a job.</summary>
    Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken);

    /// <summary>Starts the job upstream.</summary>
    Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken);

    /// <summary>Asks the upstream how an accepted job is doing.</summary>
    Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken);

    /// <summary>
    /// After a crash while a submit was in flight (its call was recorded in <see cref="Job.SubmitCall"/> before the request
    /// left): look the job up upstream where the provider allows it, by <see cref="ProviderJob.ClientReference"/> or by
    /// listing tasks. NotFound only when the upstream's answer is authoritative; any doubt is Unknown.
    /// </summary>
    Task<RecoveryOutcome> RecoverSubmitAsync(ProviderJob job, CancellationToken cancellationToken);

    /// <summary>Best-effort cancel of an accepted job. Must not throw for an upstream that cannot cancel.</summary>
    Task CancelAsync(ProviderJob job, CancellationToken cancellationToken);

    /// <summary>Copies a finished result into <paramref name="destination"/>, with the deployment's own credentials.</summary>
    Task DownloadAsync(ProviderJob job, ResultLocation result, Stream destination, CancellationToken cancellationToken);

    /// <summary>How often to poll a running job of this provider.</summary>
    PollSchedule PollSchedule { get; }

    /// <summary>Jobs this instance may have in flight (submitting or running) at once; more wait in Reelay's queue.</summary>
    int MaxConcurrentJobs { get; }

    /// <summary>
    /// What this upstream type can do (names of <see cref="JobOperations.All"/>): generate only unless the adapter says
    /// more. A remix, edit or extension goes only to the instance that made its source, and only if it offers the operation.
    /// </summary>
    IReadOnlyList<string> Operations => JobOperations.GenerateOnly;
}

/// <summary>The engine's view of a job for a provider call.</summary>
public sealed class ProviderJob
{
    /// <summary>The stored job.</summary>
    public required Job Job { get; init; }

    /// <summary>The upstream's model id for the deployment in use.</summary>
    public required string UpstreamModel { get; init; }

    /// <summary>Opens the stored first frame, when the job has one.</summary>
    public Func<CancellationToken, Task<Stream>>? OpenFirstFrame { get; init; }

    /// <summary>Opens the stored last frame, when the job has one (first+last frame).</summary>
    public Func<CancellationToken, Task<Stream>>? OpenLastFrame { get; init; }

    /// <summary>Opens each stored reference image, in the client's order (empty when none).</summary>
    public IReadOnlyList<Func<CancellationToken, Task<Stream>>> OpenReferenceImages { get; init; } = [];

    /// <summary>Whether the sandbox is standing in for another model (it must say so).</summary>
    public bool StandIn { get; init; }

    /// <summary>
    /// The client reference of this submit attempt (reelay-&lt;job id&gt;-&lt;attempt&gt;). An adapter whose API carries one
    /// (Vidu's payload, Kling's external_task_id) sends it with the submit; at recovery it is the reference of the
    /// interrupted call (<see cref="Job.SubmitCall"/> has the rest: its deployment and start time). Null outside both.
    /// </summary>
    public string? ClientReference { get; init; }

    /// <summary>At recovery: upstream ids on this instance that other jobs already own, which a lookup must not adopt.</summary>
    public IReadOnlySet<string> ClaimedUpstreamIds { get; init; } = NoClaims;

    /// <summary>For remix, edit and extend: opens the stored video of the source job.</summary>
    public Func<CancellationToken, Task<Stream>>? OpenSource { get; init; }

    /// <summary>
    /// The characters the job shows (<see cref="Job.Characters"/>), in the client's order, with their media and the ids
    /// upstreams gave them; empty when none.
    /// </summary>
    public IReadOnlyList<ProviderCharacter> Characters { get; init; } = [];

    /// <summary>The empty set of claimed ids.</summary>
    public static IReadOnlySet<string> NoClaims { get; } = new HashSet<string>();
}

/// <summary>
/// A character as an adapter sees it: its name, its media, and the ids upstream accounts gave it. The engine keeps those
/// ids (next to the character in the result storage), so an adapter uploads a character to an upstream once and reuses
/// the id afterwards, on every node and after a restart.
/// </summary>
public sealed class ProviderCharacter
{
    /// <summary>Reelay's id of the character (char_...).</summary>
    public required string Id { get; init; }

    /// <summary>Its display name.</summary>
    public required string Name { get; init; }

    /// <summary>Opens the reference media as uploaded, with its media type (image/png, image/jpeg, image/webp, video/mp4 or video/webm).</summary>
    public required Func<CancellationToken, Task<(Stream Media, string MediaType)>> OpenMedia { get; init; }

    /// <summary>Opens a still image of it: the image itself, or one frame of a video character (taken with ffmpeg, kept).</summary>
    public required Func<CancellationToken, Task<Stream>> OpenStill { get; init; }

    /// <summary>The id the upstream account named by the argument gave the character earlier, or null.</summary>
    public required Func<string, CancellationToken, Task<string?>> FindUpstreamId { get; init; }

    /// <summary>Remembers, durably, the id (second argument) the upstream account named by the first argument gave the character.</summary>
    public required Func<string, string, CancellationToken, Task> RememberUpstreamId { get; init; }
}

/// <summary>The adaptive poll schedule: start at <see cref="Initial"/>, grow by <see cref="Growth"/> up to <see cref="Max"/>, with ± <see cref="Jitter"/>.</summary>
/// <param name="Initial">First interval.</param>
/// <param name="Max">Longest interval.</param>
/// <param name="Growth">Multiplier per poll that saw no progress change.</param>
/// <param name="Jitter">Relative jitter, 0-0.5.</param>
public sealed record PollSchedule(TimeSpan Initial, TimeSpan Max, double Growth = 1.5, double Jitter = 0.2);

/// <summary>Where a finished result is: an upstream URL, or a file on this machine (the sandbox).</summary>
/// <param name="Video">URL or local path of the video.</param>
/// <param name="IsLocalFile">True when <paramref name="Video"/> is a local file path.</param>
public sealed record ResultLocation(string Video, bool IsLocalFile)
{
    /// <summary>
    /// How the upstream names this result in a later request of the same deployment (Veo's extension sends the uri of its
    /// own output back), when it does. The engine keeps it on the succeeded job (<see cref="Job.UpstreamResult"/>), never
    /// shows it to a client, and gives it to jobs derived from it as <see cref="Job.SourceUpstreamResult"/>.
    /// </summary>
    public string? UpstreamReference { get; init; }
}

/// <summary>The outcome of a submit.</summary>
public abstract record SubmitOutcome
{
    private SubmitOutcome() { }

    /// <summary>The upstream accepted the job.</summary>
    public sealed record Accepted(string UpstreamId) : SubmitOutcome;

    /// <summary>The upstream definitely refused the job; it fails with this error, unless another deployment may serve it.</summary>
    public sealed record Rejected(JobError Error) : SubmitOutcome
    {
        /// <summary>
        /// The refusal belongs to this deployment (its key or its account), so another deployment of the model may accept
        /// the job. By default true for <see cref="ErrorCodes.UpstreamAuth"/> and <see cref="ErrorCodes.UpstreamQuota"/>;
        /// an adapter that knows better sets it.
        /// </summary>
        public bool DeploymentSpecific { get; init; } = IsDeploymentSpecific(Error);

        /// <summary>The default classification: errors of the gateway's credential or account at this provider.</summary>
        public static bool IsDeploymentSpecific(JobError error) => error?.Code is ErrorCodes.UpstreamAuth or ErrorCodes.UpstreamQuota;
    }

    /// <summary>
    /// A transient problem (429, 5xx, connection error, timeout). The job was not accepted and may go to
    /// another deployment, or be retried after <paramref name="After"/>.
    /// </summary>
    public sealed record RetryLater(JobError Reason, TimeSpan? After = null) : SubmitOutcome;
}

/// <summary>The outcome of a poll.</summary>
public abstract record PollOutcome
{
    private PollOutcome() { }

    /// <summary>Still going; progress 0-100 when known.</summary>
    public sealed record Running(int? Progress) : PollOutcome;

    /// <summary>Done; the result is at <paramref name="Result"/>.</summary>
    public sealed record Succeeded(ResultLocation Result) : PollOutcome;

    /// <summary>Definitely failed.</summary>
    public sealed record Failed(JobError Error) : PollOutcome;

    /// <summary>The poll itself failed (429, 5xx, timeout): not a job failure. Try again after <paramref name="After"/>.</summary>
    public sealed record RetryLater(string Reason, TimeSpan? After = null) : PollOutcome;
}

/// <summary>The outcome of looking up a job whose submit was interrupted.</summary>
public abstract record RecoveryOutcome
{
    private RecoveryOutcome() { }

    /// <summary>The upstream has it.</summary>
    public sealed record Found(string UpstreamId) : RecoveryOutcome;

    /// <summary>The upstream definitely does not have it: safe to submit again.</summary>
    public sealed record NotFound : RecoveryOutcome;

    /// <summary>The provider cannot tell: the job fails with submit_outcome_unknown and its money stays held.</summary>
    public sealed record Unknown : RecoveryOutcome;
}
