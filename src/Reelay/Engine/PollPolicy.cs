using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Engine;

/// <summary>What the engine does after a poll answered.</summary>
public abstract record PollDecision
{
    private PollDecision() { }

    /// <summary>
    /// Still running: poll again after <paramref name="Delay"/> as attempt <paramref name="Attempt"/>; store
    /// <paramref name="Progress"/> first when it is not null (it grew).
    /// </summary>
    public sealed record Run(TimeSpan Delay, int Attempt, int? Progress) : PollDecision;

    /// <summary>The upstream finished: copy its result (see <see cref="ResultFinalizer"/>).</summary>
    public sealed record Finalize(ResultLocation Result) : PollDecision;

    /// <summary>The upstream failed the task: the job fails with <paramref name="Error"/>.</summary>
    public sealed record Fail(JobError Error) : PollDecision;

    /// <summary>The poll itself failed (throttled, outage, timeout): poll again after <paramref name="Delay"/> as attempt <paramref name="Attempt"/>.</summary>
    public sealed record RetryAfter(TimeSpan Delay, int Attempt, string Reason) : PollDecision;
}

/// <summary>A finished job's longer deadline while its result is stored: <see cref="PollPolicy.DeadlineToFinalize"/>.</summary>
/// <param name="FinishedAt">When the upstream was first seen finished.</param>
/// <param name="Deadline">The job's new deadline.</param>
public sealed record FinalizeDeadline(DateTimeOffset FinishedAt, DateTimeOffset Deadline);

/// <summary>
/// The adaptive polling rules as one pure function. <c>attempt</c> counts polls since progress last grew: the interval
/// grows with it (<see cref="Backoff.PollInterval"/>) and starts again at the schedule's initial interval when progress
/// grows. Progress is clamped to 0-99 (100 belongs to a stored result). A failed poll is not a failed job: it is
/// retried after the upstream's Retry-After, or the next interval. No clock, no I/O; jitter comes in as a number.
/// </summary>
public static class PollPolicy
{
    /// <summary>Decides what follows <paramref name="outcome"/> for <paramref name="job"/>, polled as attempt <paramref name="attempt"/>.</summary>
    public static PollDecision Decide(Job job, PollOutcome outcome, int attempt, PollSchedule schedule, double jitter)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(schedule);
        switch (outcome)
        {
            case PollOutcome.Running running:
                var progress = running.Progress is { } p ? Math.Clamp(p, 0, 99) : (int?)null;
                var grew = progress > job.Progress;
                var next = grew ? 0 : attempt + 1;
                return new PollDecision.Run(Backoff.PollInterval(schedule, next, jitter), next, grew ? progress : null);
            case PollOutcome.Succeeded succeeded:
                return new PollDecision.Finalize(succeeded.Result);
            case PollOutcome.Failed failed:
                return new PollDecision.Fail(failed.Error);
            case PollOutcome.RetryLater retry:
                return new PollDecision.RetryAfter(retry.After ?? Backoff.PollInterval(schedule, attempt + 1, jitter), attempt + 1, retry.Reason);
            default:
                throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "Unknown poll outcome.");
        }
    }

    /// <summary>
    /// The deadline a job whose upstream has finished gets while its result is stored, or null when it keeps its own. The
    /// provider has made (and billed) the video, so a queue of finalizations must not fail the job: when its deadline falls
    /// within <paramref name="grace"/> of <paramref name="now"/>, it moves to <paramref name="now"/> + grace, and the moment
    /// is kept as <see cref="FinalizeDeadline.FinishedAt"/>. The first such moment is final: a finalization that keeps
    /// failing (an expired download URL) is never extended again, so the job still ends.
    /// </summary>
    public static FinalizeDeadline? DeadlineToFinalize(Job job, DateTimeOffset now, TimeSpan grace)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (grace <= TimeSpan.Zero || JobOperations.UpstreamFinishedAt(job.Options) is not null || job.Deadline - now >= grace)
        {
            return null;
        }

        return new FinalizeDeadline(now, now + grace);
    }

    /// <summary>When a job whose finalization failed is polled again: a few intervals later, so a broken download is not hammered.</summary>
    public static PollDecision.RetryAfter AfterFinalizeFailed(int attempt, PollSchedule schedule, double jitter) =>
        new(Backoff.PollInterval(schedule, attempt + 3, jitter), attempt + 1, "finalizing the result failed");
}
