using Reelay.Jobs;

namespace Reelay.Engine;

/// <summary>
/// Every unfinished job's deadline (<see cref="Job.Deadline"/>): on this process's clock through <see cref="DueWork"/>,
/// and checked again when it fires, since the job may have finished (or its deadline moved) meanwhile. A job past it
/// fails with <see cref="ErrorCodes.DeadlineExceeded"/>, leaves its lane and is cancelled upstream. Not while this process
/// is storing its result (<paramref name="finalizing"/>): the provider has made that video, and each attempt is bounded;
/// the deadline is looked at again a minute later (the first attempt also moves it, see <see cref="PollPolicy.DeadlineToFinalize"/>).
/// </summary>
internal sealed class Deadlines(SchedulerContext context, Func<string, bool> finalizing)
{
    /// <summary>How soon a deadline that fell while the job's result was being stored is looked at again.</summary>
    internal static readonly TimeSpan FinalizingRecheck = TimeSpan.FromMinutes(1);

    /// <summary>Puts the job's deadline on the clock.</summary>
    public void Watch(Job job) => context.Due.Add(new DueItem(job.Id, DueKind.Deadline, 0), job.Deadline);

    /// <summary>Fails the job when it is still unfinished and past its deadline; otherwise watches its (later) deadline again.</summary>
    public async Task OnDueAsync(string jobId)
    {
        var now = context.Now;
        if (finalizing(jobId))
        {
            context.Due.Add(new DueItem(jobId, DueKind.Deadline, 0), now + FinalizingRecheck);
            return;
        }

        var (failed, current) = await context.Transitions.TryAsync(
            jobId,
            j => !j.Status.IsTerminal() && now >= j.Deadline,
            j => j with { Status = JobStatus.Failed, CompletedAt = now, Error = new JobError(ErrorCodes.DeadlineExceeded, $"The job did not finish within its deadline ({(j.Deadline - j.CreatedAt).TotalMinutes:0.#} minutes).") },
            context.Work.Stopping).ConfigureAwait(false);
        if (failed is null)
        {
            if (current is not null && !current.Status.IsTerminal() && current.Deadline > now)
            {
                Watch(current);
            }

            return;
        }

        EngineLog.DeadlineExceeded(context.Log, jobId);
        context.Lanes.Leave(failed);
    }
}
