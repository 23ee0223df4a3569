using Reelay.Jobs;
using Reelay.Storage;

namespace Reelay.Engine;

/// <summary>The result of <see cref="JobTransitions.TryAsync"/>.</summary>
/// <param name="Updated">The job as stored after the change; null when the precondition did not hold (or the job does not exist).</param>
/// <param name="Current">The job as stored now: <paramref name="Updated"/>, or the version that failed the precondition (null: no such job).</param>
public readonly record struct Transition(Job? Updated, Job? Current)
{
    /// <summary>Whether the change was stored.</summary>
    public bool Applied => Updated is not null;
}

/// <summary>Thrown when a job kept changing under <see cref="JobTransitions.TryAsync"/> for every one of its attempts.</summary>
public sealed class JobContentionException(string jobId) : InvalidOperationException($"Job {jobId} is being changed by too many writers at once.")
{
    /// <summary>The job.</summary>
    public string JobId { get; } = jobId;
}

/// <summary>
/// The single write path for a stored job after its insert: a compare-and-set on <see cref="Job.Version"/> (reloading
/// and re-applying the change while another writer wins), then every <see cref="IJobObserver"/> hears the change. The
/// scheduler, delete and the retention sweeper all write through here, so no writer can forget to notify.
/// </summary>
public sealed class JobTransitions
{
    /// <summary>How many times a change is re-applied on a newer version before giving up.</summary>
    public const int MaxAttempts = 20;

    private readonly IJobStore _store;
    private readonly TimeProvider _time;
    private readonly JobObservers _observers;

    /// <summary>Creates the write path over <paramref name="store"/>.</summary>
    public JobTransitions(IJobStore store, TimeProvider time, JobObservers? observers = null)
    {
        _store = store;
        _time = time;
        _observers = observers ?? JobObservers.None;
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the stored job while <paramref name="precondition"/> holds on it. Sets
    /// <see cref="Job.UpdatedAt"/>. Throws <see cref="JobContentionException"/> after <see cref="MaxAttempts"/> lost races.
    /// </summary>
    public async Task<Transition> TryAsync(string jobId, Func<Job, bool> precondition, Func<Job, Job> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(precondition);
        ArgumentNullException.ThrowIfNull(change);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var current = await _store.GetAsync(jobId, cancellationToken).ConfigureAwait(false);
            if (current is null || !precondition(current))
            {
                return new Transition(null, current);
            }

            var next = change(current) with { UpdatedAt = _time.GetUtcNow() };
            var stored = await _store.TryUpdateAsync(next, cancellationToken).ConfigureAwait(false);
            if (stored is not null)
            {
                _observers.Changed(current, stored);
                return new Transition(stored, stored);
            }
        }

        throw new JobContentionException(jobId);
    }

    /// <summary>Tells every observer about a job that was just inserted (the insert itself belongs to the store's admission).</summary>
    public void Inserted(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        _observers.Changed(null, job);
    }
}
