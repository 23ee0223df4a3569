using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Engine;

/// <summary>
/// A running job's poll when it is due: one upstream call (bounded per provider by the lane's poll gate), then what
/// <see cref="PollPolicy"/> decides: the next poll (with the progress stored when it grew), finalization of the result
/// (<see cref="ResultFinalizer"/>), failure, or a retry after a backoff. A fault of the store or the engine never strands
/// the job: the poll is tried again later, and the deadline remains the backstop.
/// </summary>
internal sealed class JobPoller(SchedulerContext context, ResultFinalizer finalizer, Deadlines deadlines, PollHints hints)
{
    private readonly ProviderLanes _lanes = context.Lanes;

    /// <summary>Polls the job of <paramref name="item"/>, which was due at <paramref name="due"/>.</summary>
    public async Task PollOrRescheduleAsync(DueItem item, DateTimeOffset due)
    {
        // One poll of a job at a time: a scheduled poll that meets a hinted one comes back shortly; a hint is dropped.
        if (!hints.TryEnter(item.JobId))
        {
            if (item.Kind == DueKind.Poll)
            {
                context.Due.Add(item, context.Now + PollHints.BusyRetry);
            }

            return;
        }

        var finished = true;
        try
        {
            finished = await PollAsync(item, due).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !context.Work.IsStopping)
        {
            // A store or engine fault must not strand the job: try again later; the deadline remains the backstop.
            EngineLog.EngineError(context.Log, ex, item.JobId);
            var delay = Backoff.Exponential(TimeSpan.FromSeconds(1), item.Attempt, TimeSpan.FromMinutes(1), Random.Shared.NextDouble());
            if (item.Kind == DueKind.Poll)
            {
                context.Due.Add(item with { Attempt = item.Attempt + 1 }, context.Now + delay);
            }

            finished = false;
        }
        finally
        {
            hints.Exit(item.JobId, finished);
        }
    }

    /// <summary>Polls once and applies the decision; true when the job is no longer running (nothing more to poll).</summary>
    private async Task<bool> PollAsync(DueItem item, DateTimeOffset due)
    {
        var ct = context.Work.Stopping;
        var job = await context.Store.GetAsync(item.JobId, ct).ConfigureAwait(false);
        var lane = _lanes.Of(job?.Provider);
        if (job is null || lane is null || job.Status != JobStatus.Running)
        {
            if (job is not null && lane is not null && job.Status.IsTerminal())
            {
                _lanes.Release(lane, job.Id);
            }

            return true;
        }

        if (context.Now >= job.Deadline)
        {
            await deadlines.OnDueAsync(job.Id).ConfigureAwait(false);
            return true;
        }

        var outcome = await CallPollAsync(job, lane, due, ct).ConfigureAwait(false);
        switch (PollPolicy.Decide(job, outcome, item.Attempt, lane.Provider.PollSchedule, Random.Shared.NextDouble()))
        {
            case PollDecision.Run run:
                if (run.Progress is { } progress)
                {
                    await context.Transitions.TryAsync(job.Id, j => j.Status == JobStatus.Running && j.Progress < progress, j => j with { Progress = progress }, ct).ConfigureAwait(false);
                }

                if (item.Kind == DueKind.Poll) // a hinted poll leaves the schedule to the job's own chain
                {
                    context.Due.Add(item with { Attempt = run.Attempt }, context.Now + run.Delay);
                }

                return false;
            case PollDecision.Finalize finalize:
                await FinalizeAsync(job, lane, finalize.Result, item).ConfigureAwait(false);
                return true;
            case PollDecision.Fail fail:
                await context.FailAsync(job.Id, fail.Error, ct).ConfigureAwait(false);
                _lanes.Release(lane, job.Id);
                return true;
            case PollDecision.RetryAfter retry:
                if (item.Kind == DueKind.Poll)
                {
                    EngineLog.PollRetry(context.Log, job.Id, retry.Delay, retry.Reason);
                    context.Due.Add(item with { Attempt = retry.Attempt }, context.Now + retry.Delay);
                }

                return false;
        }

        return false;
    }

    private async Task<PollOutcome> CallPollAsync(Job job, ProviderLane lane, DateTimeOffset due, CancellationToken ct)
    {
        await lane.PollGate.WaitAsync(ct).ConfigureAwait(false);
        using var span = ReelayTelemetry.StartPoll(job, lane.Provider.Name);
        PollOutcome outcome;
        try
        {
            using var call = context.Calls.Start();
            outcome = await lane.Provider.PollAsync(context.Calls.For(job), call.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            outcome = new PollOutcome.RetryLater("the provider did not answer the poll in time");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            EngineLog.ProviderThrew(context.Log, ex, lane.Provider.Name, "poll", job.Id);
            outcome = new PollOutcome.RetryLater("the poll failed");
        }
        finally
        {
            lane.PollGate.Release();
        }

        ReelayTelemetry.PollAnswered(span, outcome, context.Now - due);
        return outcome;
    }

    private async Task FinalizeAsync(Job job, ProviderLane lane, ResultLocation result, DueItem item)
    {
        using var span = ReelayTelemetry.StartFinalize(job, lane.Provider.Name);
        FinalizeOutcome outcome;
        try
        {
            outcome = await finalizer.FinalizeAsync(context.Calls.For(job), lane.Provider, result, context.Work.Stopping, StartedAsync).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.Work.IsStopping)
        {
            return; // Shutting down: still 'running'; the next start polls it again and finalizes.
        }
        catch (Exception ex)
        {
            EngineLog.FinalizeFailed(context.Log, ex, job.Id);
            var again = PollPolicy.AfterFinalizeFailed(item.Attempt, lane.Provider.PollSchedule, Random.Shared.NextDouble());
            context.Due.Add(item with { Attempt = again.Attempt }, context.Now + again.Delay);
            return;
        }

        if (outcome is FinalizeOutcome.Unplayable unplayable)
        {
            await context.FailAsync(job.Id, unplayable.Error, context.Work.Stopping).ConfigureAwait(false);
        }

        _lanes.Release(lane, job.Id);

        // Once the slot is taken: the provider has finished (and billed) this video, so the first attempt gets the grace to
        // store it even when the deadline is near; later attempts (after a failed download) do not extend it again.
        async Task StartedAsync(CancellationToken ct)
        {
            if (PollPolicy.DeadlineToFinalize(job, context.Now, context.Options.FinalizeGrace) is { } longer)
            {
                await context.Transitions.TryAsync(
                    job.Id,
                    j => j.Status == JobStatus.Running && JobOperations.UpstreamFinishedAt(j.Options) is null && j.Deadline < longer.Deadline,
                    j => j with { Deadline = longer.Deadline, Options = JobOperations.WithUpstreamFinishedAt(j.Options, longer.FinishedAt) },
                    ct).ConfigureAwait(false);
            }
        }
    }
}
