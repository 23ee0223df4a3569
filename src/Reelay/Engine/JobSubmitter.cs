using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Routing;

namespace Reelay.Engine;

/// <summary>
/// Submits a job that got a slot in its lane: queued → submitting (one attempt more), the call recorded on the job right
/// before its request leaves, then what <see cref="SubmitPolicy"/> decides about the answer: running, failover to the
/// next deployment, failure, or a retry after a backoff.
/// </summary>
internal sealed class JobSubmitter(SchedulerContext context, IJobRouter router, ProviderCircuits? circuits = null)
{
    private readonly ProviderLanes _lanes = context.Lanes;

    /// <summary>
    /// Submits the job; called in the background by <see cref="ProviderLanes"/> once the job holds a slot. Waits first for
    /// the lane's <see cref="ProviderLane.SubmitGate"/> (the job stays queued meanwhile).
    /// </summary>
    public async Task SubmitAsync(string jobId, ProviderLane lane)
    {
        await lane.SubmitGate.WaitAsync(context.Work.Stopping).ConfigureAwait(false);
        try
        {
            await SubmitHoldingGateAsync(jobId, lane).ConfigureAwait(false);
        }
        finally
        {
            lane.SubmitGate.Release();
        }
    }

    private async Task SubmitHoldingGateAsync(string jobId, ProviderLane lane)
    {
        var ct = context.Work.Stopping;
        if (_lanes.SharedSlots(lane) && !await _lanes.TryAcquireSharedSlotAsync(lane, jobId, ct).ConfigureAwait(false))
        {
            // Every slot of the provider is taken across the cluster: wait at the front until one is freed.
            lane.Park(jobId);
            return;
        }

        var job = (await context.Transitions.TryAsync(jobId, j => j.Status == JobStatus.Queued && j.DeletedAt is null, j => j with { Status = JobStatus.Submitting, SubmitAttempts = j.SubmitAttempts + 1 }, ct).ConfigureAwait(false)).Updated;
        if (job is null)
        {
            _lanes.Release(lane, jobId);
            return;
        }

        using var span = ReelayTelemetry.StartSubmit(job, lane.Provider.Name);
        SubmitOutcome outcome;
        var attempt = job.SubmitAttempts;
        var reference = job.ClientReference(attempt);
        var skipped = CircuitGate.Skip(circuits, lane.Provider.Name);
        try
        {
            using var call = context.Calls.Start();

            // The call is recorded on the job right before its request leaves (after rate-limit waits and first-frame
            // work), so a restart can tell a job that never reached the upstream from one that may have.
            using var send = SubmitSend.Begin(token => RecordSubmitCallAsync(job, lane.Provider.Name, attempt, reference, token));
            try
            {
                outcome = skipped ?? await lane.Provider.SubmitAsync(context.Calls.For(job, reference), call.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                outcome = new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamTimeout, $"The provider did not answer the submit within {context.Options.UpstreamCallTimeout.TotalSeconds:0} s."));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return; // Shutting down: the job stays 'submitting' and is recovered at the next start.
        }
        catch (SubmitAbandonedException)
        {
            _lanes.Release(lane, jobId); // Cancelled (or failed by its deadline) before its request was sent: nothing went upstream.
            return;
        }
        catch (Exception ex)
        {
            EngineLog.ProviderThrew(context.Log, ex, lane.Provider.Name, "submit", jobId);
            outcome = new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamUnavailable, "The provider could not be reached."));
        }

        CircuitGate.Record(circuits, lane.Provider.Name, outcome, skipped);
        ReelayTelemetry.SubmitAnswered(span, outcome);
        var next = outcome is SubmitOutcome.Accepted ? null : router.NextAfter(job);
        switch (SubmitPolicy.Decide(job, outcome, next, context.Options, Random.Shared.NextDouble()))
        {
            case SubmitDecision.Run run:
                await OnAcceptedAsync(job, lane, run.UpstreamId).ConfigureAwait(false);
                break;
            case SubmitDecision.FailOver failOver:
                EngineLog.FailedOver(context.Log, jobId, lane.Provider.Name, failOver.Next.Provider.Name, failOver.Reason.Code);
                await RequeueAsync(jobId, lane, failOver.Next, front: true, ct).ConfigureAwait(false);
                break;
            case SubmitDecision.Fail fail:
                await context.FailAsync(jobId, fail.Error, ct).ConfigureAwait(false);
                _lanes.Release(lane, jobId);
                break;
            case SubmitDecision.RetryAfter retry:
                EngineLog.SubmitRetry(context.Log, jobId, lane.Provider.Name, retry.Delay, retry.Reason.Message);
                await RequeueAsync(jobId, lane, router.First(job), front: false, ct).ConfigureAwait(false);

                // Due through the store (any node may take it then) and through this node's cache, whichever comes first.
                await context.Claims.ReleaseClaimAsync(jobId, context.Options.NodeId, context.Now + retry.Delay, ct).ConfigureAwait(false);
                context.Due.Add(new DueItem(jobId, DueKind.Resubmit, 0), context.Now + retry.Delay);
                break;
        }
    }

    /// <summary>
    /// Puts a job that was being submitted back to queued, on <paramref name="route"/> when given, and frees its slot. With
    /// <paramref name="front"/> it joins the front of its (new) lane at once; otherwise a Resubmit entry brings it back.
    /// </summary>
    public async Task RequeueAsync(string jobId, ProviderLane lane, JobRoute? route, bool front, CancellationToken ct)
    {
        var moved = await context.Transitions.TryAsync(
            jobId,
            j => j.Status == JobStatus.Submitting,
            j => route is null ? j with { Status = JobStatus.Queued } : j with { Status = JobStatus.Queued, Provider = route.Provider.Name, UpstreamModel = route.UpstreamModel, Note = route.Note },
            ct).ConfigureAwait(false);
        _lanes.Release(lane, jobId);
        if (front && moved.Updated is { } queued && _lanes.Of(queued.Provider) is { } target)
        {
            _lanes.Enqueue(queued, target, front: true);
        }
    }

    /// <summary>The upstream accepted the job (or a recovery found it there): running, first poll scheduled.</summary>
    public async Task OnAcceptedAsync(Job job, ProviderLane lane, string upstreamId)
    {
        EngineLog.JobAccepted(context.Log, job.Id, lane.Provider.Name, upstreamId);
        if (context.UpstreamIds.Active)
        {
            context.UpstreamIds.TryClaim(lane.Provider.Name, upstreamId, job.Id);
        }

        var running = await context.Transitions.TryAsync(
            job.Id,
            j => j.Status == JobStatus.Submitting,
            j => j with { Status = JobStatus.Running, UpstreamId = upstreamId, StartedAt = context.Now, Progress = 0 },
            context.Work.Stopping).ConfigureAwait(false);
        if (!running.Applied)
        {
            // Cancelled (or failed by its deadline) while the submit was in flight: stop it upstream too.
            await _lanes.CancelUpstreamAsync(lane, job with { UpstreamId = upstreamId }).ConfigureAwait(false);
            return;
        }

        context.Due.Add(new DueItem(job.Id, DueKind.Poll, 0), context.Now + Backoff.PollInterval(lane.Provider.PollSchedule, 0, Random.Shared.NextDouble()));
    }

    /// <summary>Durably records the submit call about to be sent; throws <see cref="SubmitAbandonedException"/> when the job is no longer being submitted.</summary>
    private async Task RecordSubmitCallAsync(Job job, string provider, int attempt, string reference, CancellationToken ct)
    {
        var recorded = await context.Transitions.TryAsync(
            job.Id,
            j => j.Status == JobStatus.Submitting && j.SubmitAttempts == attempt && j.DeletedAt is null,
            j => j with { SubmitCall = new SubmitCall(attempt, provider, j.UpstreamModel ?? j.Model, reference, context.Now) },
            ct).ConfigureAwait(false);
        if (!recorded.Applied)
        {
            throw new SubmitAbandonedException(job.Id);
        }
    }
}
