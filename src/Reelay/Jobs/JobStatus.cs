namespace Reelay.Jobs;

/// <summary>The lifecycle of a job. Terminal states (succeeded, failed, cancelled) are final.</summary>
public enum JobStatus
{
    /// <summary>Accepted and stored, waiting for a provider slot.</summary>
    Queued = 0,
    /// <summary>The upstream submit call is in flight; its outcome is not yet known.</summary>
    Submitting = 1,
    /// <summary>The upstream accepted the job; it is being polled.</summary>
    Running = 2,
    /// <summary>Finished; the result is in Reelay's own storage.</summary>
    Succeeded = 3,
    /// <summary>Finished without a result; <see cref="Job.Error"/> says why.</summary>
    Failed = 4,
    /// <summary>Cancelled by its owner or an administrator.</summary>
    Cancelled = 5,
}

/// <summary>Helpers for <see cref="JobStatus"/>.</summary>
public static class JobStatusExtensions
{
    /// <summary>True for succeeded, failed and cancelled.</summary>
    public static bool IsTerminal(this JobStatus status) => status >= JobStatus.Succeeded;

    /// <summary>The canonical lower-case name used in storage, logs and Reelay's own API.</summary>
    public static string ToWire(this JobStatus status) => status switch
    {
        JobStatus.Queued => "queued",
        JobStatus.Submitting => "submitting",
        JobStatus.Running => "running",
        JobStatus.Succeeded => "succeeded",
        JobStatus.Failed => "failed",
        JobStatus.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    /// <summary>Parses a name written by <see cref="ToWire"/>.</summary>
    public static JobStatus ParseWire(string value) => value switch
    {
        "queued" => JobStatus.Queued,
        "submitting" => JobStatus.Submitting,
        "running" => JobStatus.Running,
        "succeeded" => JobStatus.Succeeded,
        "failed" => JobStatus.Failed,
        "cancelled" => JobStatus.Cancelled,
        _ => throw new FormatException($"Unknown job status '{value}'."),
    };

    /// <summary>
    /// Whether the state machine allows <paramref name="from"/> → <paramref name="to"/>.
    /// submitting → queued is allowed only when the upstream definitely did not accept the job
    /// (the engine decides that; the store only enforces compare-and-set).
    /// </summary>
    public static bool CanTransitionTo(this JobStatus from, JobStatus to) => (from, to) switch
    {
        (JobStatus.Queued, JobStatus.Submitting or JobStatus.Failed or JobStatus.Cancelled) => true,
        (JobStatus.Submitting, JobStatus.Running or JobStatus.Queued or JobStatus.Failed or JobStatus.Cancelled or JobStatus.Succeeded) => true,
        (JobStatus.Running, JobStatus.Running or JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled) => true,
        _ => false,
    };
}
