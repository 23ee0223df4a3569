using Reelay.Jobs;
using Reelay.Storage;

namespace Reelay.Engine;

/// <summary>
/// This node's side of <see cref="IJobClaims"/>: at start it gives up what it held before a restart and claims every due
/// job; then, every third of the lease (<see cref="EngineOptions.ClaimLease"/>), it renews all of its claims in one write
/// and claims what became due meanwhile (jobs whose node died, jobs released with a due time, jobs nobody claimed yet),
/// which <see cref="CrashRecovery"/> resumes. A job released for a submit backoff comes back through
/// <see cref="OnResubmitDueAsync"/> when this node's own clock says so first.
/// </summary>
internal sealed class ClaimLoop(SchedulerContext context, CrashRecovery recovery)
{
    /// <summary>How many jobs one claim takes at most.</summary>
    private const int ClaimBatch = 1000;

    private EngineOptions Options => context.Options;

    /// <summary>Releases this node's old claims and claims every due job (after a restart, its own jobs are due at once).</summary>
    public async Task<IReadOnlyList<Job>> ClaimAtStartAsync(CancellationToken cancellationToken)
    {
        await context.Claims.ReleaseClaimsAsync(Options.NodeId, cancellationToken).ConfigureAwait(false);
        var claimed = new List<Job>();
        IReadOnlyList<Job> batch;
        do
        {
            batch = await context.Claims.ClaimDueAsync(Options.NodeId, context.Now, Options.ClaimLease, ClaimBatch, cancellationToken).ConfigureAwait(false);
            claimed.AddRange(batch);
        }
        while (batch.Count == ClaimBatch);

        return claimed;
    }

    /// <summary>Renews and claims every third of the lease until <paramref name="ct"/> ends; a failed round is logged and the next one tries again.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Options.ClaimLease / 3, context.Time, ct).ConfigureAwait(false);
                var now = context.Now;
                await context.Claims.RenewClaimsAsync(Options.NodeId, now, Options.ClaimLease, ct).ConfigureAwait(false);
                IReadOnlyList<Job> due;
                do
                {
                    due = await context.Claims.ClaimDueAsync(Options.NodeId, now, Options.ClaimLease, ClaimBatch, ct).ConfigureAwait(false);

                    // A job already in this node's lanes (admitted here since the last round, or a late renewal let its
                    // lease lapse) is claimed now, and is not an orphan to resume.
                    var orphans = due.Where(j => !context.Lanes.Knows(j.Id)).ToList();
                    await recovery.ResumeAsync(orphans, lookUpRunning: true, ct).ConfigureAwait(false);
                }
                while (due.Count == ClaimBatch);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                EngineLog.ClaimLoopFailed(context.Log, ex);
            }
        }
    }

    /// <summary>A <see cref="DueKind.Resubmit"/> entry: claims the still-queued job again and puts it at the front of its lane.</summary>
    public async Task OnResubmitDueAsync(string jobId)
    {
        var ct = context.Work.Stopping;
        var job = await context.Store.GetAsync(jobId, ct).ConfigureAwait(false);
        if (job is { Status: JobStatus.Queued, DeletedAt: null } && context.Lanes.Of(job.Provider) is { } lane
            && await context.Claims.TryClaimAsync(jobId, Options.NodeId, context.Now, Options.ClaimLease, ct).ConfigureAwait(false))
        {
            context.Lanes.Enqueue(job, lane, front: true);
        }
    }
}
