using System.Threading.Channels;
using Reelay.Jobs;
using Reelay.Storage;

namespace Reelay.Engine;

/// <summary>
/// This node's side of <see cref="IJobClaims"/>: at start it gives up what it held before a restart and claims every due
/// job; then, every third of the lease (<see cref="EngineOptions.ClaimLease"/>), it renews all of its claims in one write
/// and, on a loop of its own, claims what became due meanwhile (jobs whose node died, jobs released with a due time, jobs
/// nobody claimed yet), which <see cref="CrashRecovery"/> resumes. The two loops are apart so that a slow round of claiming
/// and resuming (a thousand orphans on a loaded machine) never delays the renewal: a late renewal lets this node's own
/// leases lapse, and another node then takes over jobs that are still being worked on here. A job released for a submit backoff comes back through
/// <see cref="OnResubmitDueAsync"/> when this node's own clock says so first.
/// </summary>
internal sealed class ClaimLoop(SchedulerContext context, CrashRecovery recovery)
{
    /// <summary>How many jobs one claim takes at most.</summary>
    private const int ClaimBatch = 1000;

    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private long _rounds;

    /// <summary>Runs the next round now (another node released work, or the signals resynchronized after a gap).</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

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

    /// <summary>Renews, and claims, every third of the lease until <paramref name="ct"/> ends, each on its own loop; a failed round is logged and the next one tries again.</summary>
    public Task RunAsync(CancellationToken ct) => Task.WhenAll(RenewAsync(ct), ClaimRoundsAsync(ct));

    /// <summary>Extends every claim of this node every third of the lease, whatever the claim rounds are doing.</summary>
    private async Task RenewAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Options.ClaimLease / 3, context.Time, ct).ConfigureAwait(false);
                await context.Claims.RenewClaimsAsync(Options.NodeId, context.Now, Options.ClaimLease, ct).ConfigureAwait(false);
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

    private async Task ClaimRoundsAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await WaitForRoundAsync(ct).ConfigureAwait(false);
                var now = context.Now;
                if (context.Slots.IsShared)
                {
                    await SharedSlotsRoundAsync(ct).ConfigureAwait(false);
                }

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

    /// <summary>A third of the lease, or less when another node says there is work to claim (<see cref="Wake"/>).</summary>
    private async Task WaitForRoundAsync(CancellationToken ct)
    {
        using var round = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(Options.ClaimLease / 3, context.Time, round.Token);
        var woken = _wake.Reader.WaitToReadAsync(round.Token).AsTask();
        await Task.WhenAny(delay, woken).ConfigureAwait(false);
        await round.CancelAsync().ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        _wake.Reader.TryRead(out _);
    }

    /// <summary>
    /// Each round: lanes parked for want of a cluster-wide slot try again (a freed slot's signal may have been missed), and
    /// every 30 rounds the slots whose job ended without giving them back are swept.
    /// </summary>
    private async Task SharedSlotsRoundAsync(CancellationToken ct)
    {
        context.Lanes.UnparkAll();
        if (++_rounds % 30 != 1)
        {
            return;
        }

        var settled = context.Now - TimeSpan.FromMinutes(1);
        foreach (var slot in await context.Slots.ListAsync(ct).ConfigureAwait(false))
        {
            if (slot.AcquiredAt > settled)
            {
                continue; // A slot just taken may belong to a job whose submit is starting.
            }

            var job = await context.Store.GetAsync(slot.JobId, ct).ConfigureAwait(false);
            if (job is null || job.Status is JobStatus.Queued || job.Status.IsTerminal())
            {
                await context.Slots.ReleaseAsync(slot.Provider, slot.JobId, ct).ConfigureAwait(false);
                context.Signals.Publish(Cluster.ClusterChannels.SlotFreed, slot.Provider);
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
