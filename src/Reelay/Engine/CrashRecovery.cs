using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Engine;

/// <summary>
/// Takes over unfinished jobs claimed from the store, after a restart or from a node that died: queued ones join their
/// lane in order, running ones get their slot back and are polled at once, and one caught in submitting follows
/// <see cref="SubmitRecovery"/> (looked up on the deployment it recorded, adopted, requeued, or failed as
/// <c>submit_outcome_unknown</c>; never resubmitted silently).
/// </summary>
internal sealed class CrashRecovery(SchedulerContext context, JobSubmitter submitter, Deadlines deadlines)
{
    private readonly ProviderLanes _lanes = context.Lanes;

    /// <summary>
    /// Resumes <paramref name="active"/>. With <paramref name="lookUpRunning"/>, the upstream ids of every running job are
    /// read from the store for a submit's recovery (they are not all among <paramref name="active"/>).
    /// </summary>
    public async Task ResumeAsync(IReadOnlyList<Job> active, bool lookUpRunning, CancellationToken cancellationToken)
    {
        ReelayTelemetry.JobsRecovered(active); // stored before this process claimed them, so no observer here heard them
        var submitting = active.Count(j => j.Status == JobStatus.Submitting);
        if (submitting > 0)
        {
            var running = lookUpRunning ? await context.Store.ListActiveAsync(cancellationToken).ConfigureAwait(false) : active;
            context.UpstreamIds.Begin(submitting, running.Where(j => j.Status == JobStatus.Running));
        }

        foreach (var job in active)
        {
            deadlines.Watch(job);

            // A submit caught in flight is looked up on the deployment it recorded, never on a new plan.
            var provider = job is { Status: JobStatus.Submitting, HasCallInFlight: true } ? job.SubmitCall!.Provider : job.Provider;
            if (_lanes.Of(provider) is not { } lane)
            {
                await context.FailAsync(job.Id, new JobError(ErrorCodes.UpstreamUnavailable, $"The provider '{provider}' that this job was routed to is no longer configured."), cancellationToken).ConfigureAwait(false);
                if (job.Status == JobStatus.Submitting)
                {
                    context.UpstreamIds.End();
                }

                continue;
            }

            switch (job.Status)
            {
                case JobStatus.Queued:
                    _lanes.Enqueue(job, lane, front: false);
                    break;
                case JobStatus.Submitting:
                    await _lanes.HoldAsync(lane, job.Id, cancellationToken).ConfigureAwait(false);
                    context.Work.Spawn(job.Id, () => RecoverSubmittingAsync(job, lane));
                    break;
                case JobStatus.Running:
                    await _lanes.HoldAsync(lane, job.Id, cancellationToken).ConfigureAwait(false);
                    context.Due.Add(new DueItem(job.Id, DueKind.Poll, 0), context.Now);
                    break;
            }
        }

        if (active.Count > 0)
        {
            EngineLog.Recovered(context.Log, active.Count, active.Count(j => j.Status == JobStatus.Queued), submitting, active.Count(j => j.Status == JobStatus.Running));
        }
    }

    /// <summary>A <see cref="DueKind.Recover"/> entry: looks the job up again unless it ended meanwhile.</summary>
    public async Task OnDueAsync(string jobId)
    {
        var job = await context.Store.GetAsync(jobId, context.Work.Stopping).ConfigureAwait(false);
        if (job is { Status: JobStatus.Submitting, SubmitCall: { } call } && _lanes.Of(call.Provider) is { } lane)
        {
            await RecoverSubmittingAsync(job, lane).ConfigureAwait(false);
        }
        else
        {
            context.UpstreamIds.End(); // Cancelled or timed out meanwhile; leaving the lane freed its slot.
        }
    }

    private async Task RecoverSubmittingAsync(Job job, ProviderLane lane)
    {
        var ct = context.Work.Stopping;
        var step = SubmitRecovery.Plan(job);
        if (step is RecoveryStep.LookUp)
        {
            RecoveryOutcome outcome;
            try
            {
                using var call = context.Calls.Start();
                outcome = await lane.Provider.RecoverSubmitAsync(context.Calls.For(job, job.SubmitCall!.Reference, context.UpstreamIds.OwnedByOthers(lane.Provider.Name, job.Id)), call.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                EngineLog.ProviderThrew(context.Log, ex, lane.Provider.Name, "recover", job.Id);
                outcome = new RecoveryOutcome.Unknown();
            }

            // Two jobs must never adopt one upstream task: the first claim wins, the other cannot tell.
            var claimedByAnother = outcome is RecoveryOutcome.Found found && !context.UpstreamIds.TryClaim(lane.Provider.Name, found.UpstreamId, job.Id);
            EngineLog.RecoveredSubmitting(context.Log, job.Id, lane.Provider.Name, claimedByAnother ? "Found (claimed by another job)" : outcome.GetType().Name);
            step = SubmitRecovery.After(job, outcome, context.Now, context.Options.UpstreamCallTimeout, claimedByAnother);
        }

        switch (step)
        {
            case RecoveryStep.Adopt adopt:
                await submitter.OnAcceptedAsync(job, lane, adopt.UpstreamId).ConfigureAwait(false);
                break;
            case RecoveryStep.LookAgain again:
                // Still holding its slot: the interrupted call could still be creating the task upstream.
                context.Due.Add(new DueItem(job.Id, DueKind.Recover, 0), again.At);
                return;
            case RecoveryStep.Requeue requeue:
                EngineLog.RequeuedAfterRestart(context.Log, job.Id, lane.Provider.Name, requeue.Reason);
                await submitter.RequeueAsync(job.Id, lane, route: null, front: true, ct).ConfigureAwait(false);
                break;
            default:
                await context.FailAsync(job.Id, new JobError(ErrorCodes.SubmitOutcomeUnknown, "Reelay restarted while submitting this job, and the provider cannot tell whether it accepted it. It was not resubmitted, to avoid paying twice."), ct).ConfigureAwait(false);
                _lanes.Release(lane, job.Id);
                break;
        }

        context.UpstreamIds.End();
    }
}
