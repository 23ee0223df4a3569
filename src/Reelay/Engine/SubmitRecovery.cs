using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Engine;

/// <summary>What to do with a job found in <see cref="JobStatus.Submitting"/> after a restart.</summary>
public abstract record RecoveryStep
{
    private RecoveryStep() { }

    /// <summary>Put it back in its queue and submit it (again): the upstream does not have it.</summary>
    /// <param name="Reason">Why that is certain, for the log.</param>
    public sealed record Requeue(string Reason) : RecoveryStep;

    /// <summary>Its current attempt's request may have reached the upstream: ask the recorded deployment.</summary>
    public sealed record LookUp : RecoveryStep;

    /// <summary>The upstream has it as <paramref name="UpstreamId"/>: continue as if the submit had answered.</summary>
    public sealed record Adopt(string UpstreamId) : RecoveryStep;

    /// <summary>The upstream does not list it yet, but the interrupted call could still be creating it: look again at <paramref name="At"/>.</summary>
    public sealed record LookAgain(DateTimeOffset At) : RecoveryStep;

    /// <summary>Nobody can tell: fail with submit_outcome_unknown and keep the money held.</summary>
    public sealed record FailUnknown : RecoveryStep;
}

/// <summary>
/// The crash-recovery rules for a job caught in submitting, as pure functions. The engine records each submit call on the
/// job immediately before its request is sent (<see cref="SubmitSend"/>), so:
/// <list type="bullet">
/// <item>no record of the current attempt: the request was never sent; requeue it (no lookup, nothing to pay twice);</item>
/// <item>a record: look it up on the recorded deployment. Found: adopt it. Unknown: fail as submit_outcome_unknown.
/// NotFound: requeue only once the interrupted call can no longer be in progress upstream (it started at least the
/// engine's upstream call timeout ago); before that, look again then.</item>
/// </list>
/// </summary>
public static class SubmitRecovery
{
    /// <summary>The first step for <paramref name="job"/>, from what is stored alone.</summary>
    public static RecoveryStep Plan(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.SubmitCall is null)
        {
            return new RecoveryStep.Requeue("no submit call was recorded: its request was never sent");
        }

        return job.HasCallInFlight
            ? new RecoveryStep.LookUp()
            : new RecoveryStep.Requeue($"attempt {job.SubmitAttempts} recorded no submit call (the last was attempt {job.SubmitCall.Attempt}): its request was never sent");
    }

    /// <summary>
    /// The step after the provider answered a lookup with <paramref name="outcome"/>. <paramref name="settle"/> is how long
    /// after its start a call can still be creating the task upstream (the engine's upstream call timeout);
    /// <paramref name="claimedByAnotherJob"/> says the found upstream id already belongs to another job.
    /// </summary>
    public static RecoveryStep After(Job job, RecoveryOutcome outcome, DateTimeOffset now, TimeSpan settle, bool claimedByAnotherJob = false)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(outcome);
        switch (outcome)
        {
            case RecoveryOutcome.Found found when !claimedByAnotherJob && found.UpstreamId.Length > 0:
                return new RecoveryStep.Adopt(found.UpstreamId);
            case RecoveryOutcome.NotFound when job.SubmitCall is { } call:
                var settled = call.StartedAt + settle;
                return now >= settled
                    ? new RecoveryStep.Requeue($"the upstream does not have the call of attempt {call.Attempt}, {(now - call.StartedAt).TotalSeconds:0} s after it started")
                    : new RecoveryStep.LookAgain(settled);
            case RecoveryOutcome.NotFound:
                return new RecoveryStep.Requeue("the upstream does not have it");
            default:
                return new RecoveryStep.FailUnknown();
        }
    }
}
