using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Routing;

namespace Reelay.Engine;

/// <summary>What the engine does after a submit answered.</summary>
public abstract record SubmitDecision
{
    private SubmitDecision() { }

    /// <summary>The upstream accepted the job as <paramref name="UpstreamId"/>: it runs there and is polled.</summary>
    public sealed record Run(string UpstreamId) : SubmitDecision;

    /// <summary>Not accepted here, and another deployment may serve it: move it, still queued, to <paramref name="Next"/> at once.</summary>
    public sealed record FailOver(JobRoute Next, JobError Reason) : SubmitDecision;

    /// <summary>The job fails with <paramref name="Error"/>.</summary>
    public sealed record Fail(JobError Error) : SubmitDecision;

    /// <summary>Every deployment was tried (or there is one): requeue it on its first deployment and submit again after <paramref name="Delay"/>.</summary>
    public sealed record RetryAfter(TimeSpan Delay, JobError Reason) : SubmitDecision;
}

/// <summary>
/// The submit and failover rules as one pure function: from the job (with its attempt count), the provider's outcome,
/// the next deployment in the job's plan and the options to a <see cref="SubmitDecision"/>. No clock, no I/O: randomness
/// (backoff jitter) comes in as a number.
/// <list type="bullet">
/// <item>Accepted: run.</item>
/// <item>Rejected for a reason that belongs to the deployment (its key or account, <see cref="SubmitOutcome.Rejected.DeploymentSpecific"/>),
/// with attempts left and another deployment: fail over. Any other rejection: fail.</item>
/// <item>Retry-later with no attempts left: fail with its reason. With another deployment: fail over. Otherwise: retry
/// after the upstream's Retry-After, or an exponential backoff from <see cref="EngineOptions.SubmitRetryDelay"/> capped at
/// <see cref="MaxRetryDelay"/>.</item>
/// </list>
/// </summary>
public static class SubmitPolicy
{
    /// <summary>The longest backoff between submit rounds.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(2);

    /// <summary>Decides what follows <paramref name="outcome"/>; <paramref name="jitter"/> is a sample in [0, 1).</summary>
    public static SubmitDecision Decide(Job job, SubmitOutcome outcome, JobRoute? next, EngineOptions options, double jitter)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(options);
        var attemptsLeft = job.SubmitAttempts < options.MaxSubmitAttempts;
        return outcome switch
        {
            SubmitOutcome.Accepted accepted => new SubmitDecision.Run(accepted.UpstreamId),
            SubmitOutcome.Rejected { DeploymentSpecific: true } rejected when attemptsLeft && next is not null => new SubmitDecision.FailOver(next, rejected.Error),
            SubmitOutcome.Rejected rejected => new SubmitDecision.Fail(rejected.Error),
            SubmitOutcome.RetryLater retry when !attemptsLeft => new SubmitDecision.Fail(retry.Reason),
            SubmitOutcome.RetryLater retry when next is not null => new SubmitDecision.FailOver(next, retry.Reason),
            SubmitOutcome.RetryLater retry => new SubmitDecision.RetryAfter(retry.After ?? Backoff.Exponential(options.SubmitRetryDelay, job.SubmitAttempts - 1, MaxRetryDelay, jitter), retry.Reason),
            _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "Unknown submit outcome."),
        };
    }
}

/// <summary>Backoff arithmetic shared by the policies: pure, with the random sample passed in.</summary>
public static class Backoff
{
    /// <summary><paramref name="initial"/> × 2^<paramref name="attempt"/>, capped at <paramref name="max"/>, times 0.8-1.2 from <paramref name="jitter"/> in [0, 1).</summary>
    public static TimeSpan Exponential(TimeSpan initial, int attempt, TimeSpan max, double jitter)
    {
        var ms = initial.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt, 0, 20));
        ms = Math.Min(ms, max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms * (0.8 + (jitter * 0.4)));
    }

    /// <summary>The adaptive poll interval for the n-th poll without progress: Initial × Growth^n, capped at Max, ± the schedule's jitter (<paramref name="jitter"/> in [0, 1)).</summary>
    public static TimeSpan PollInterval(PollSchedule schedule, int attempt, double jitter)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var ms = schedule.Initial.TotalMilliseconds * Math.Pow(schedule.Growth, Math.Clamp(attempt, 0, 30));
        ms = Math.Min(ms, schedule.Max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms * (1 + (((jitter * 2) - 1) * schedule.Jitter)));
    }
}
