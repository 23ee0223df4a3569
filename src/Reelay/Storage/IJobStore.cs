using Reelay.Jobs;

namespace Reelay.Storage;

/// <summary>
/// Durable job storage. Every write after the insert is a compare-and-set on <see cref="Job.Version"/>, so
/// exactly one of two concurrent writers wins. Implementations: SQLite (embedded default), PostgreSQL.
/// The contract is pinned by the store contract test suite, which every implementation runs unchanged.
/// Dates are stored to the millisecond and read back in UTC; the jobs an insert or update returns already are.
/// </summary>
public interface IJobStore
{
    /// <summary>Creates or migrates the schema. Idempotent; safe to call on every start.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Inserts a new job (its <see cref="Job.Version"/> must be 0; the stored version is 1).
    /// Throws <see cref="DuplicateJobException"/> when the id exists.
    /// </summary>
    Task<Job> InsertAsync(Job job, CancellationToken cancellationToken);

    /// <summary>
    /// Inserts a new job together with its admission, in one transaction: the owner's in-flight count and money hold
    /// (refused with <see cref="Accounts.AdmissionRefusedException"/> when its limits or budget do not allow it), the
    /// charge record, and the idempotency record (refused with <see cref="Accounts.IdempotencyKeyUsedException"/> when
    /// the key was used). Nothing is stored when anything is refused.
    /// </summary>
    Task<Job> InsertAsync(Job job, Accounts.JobAdmission admission, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} does not support admitted inserts (keys, budgets, idempotency).");

    /// <summary>Reads a job by id, including soft-deleted ones; null when there is none.</summary>
    Task<Job?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="job"/> if the stored version still equals <c>job.Version</c>. Returns the stored
    /// job (version + 1), or null when another writer got there first or the job does not exist.
    /// </summary>
    Task<Job?> TryUpdateAsync(Job job, CancellationToken cancellationToken);

    /// <summary>Lists jobs that are not soft-deleted in insertion order, newest or oldest first, with a cursor.</summary>
    Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken);

    /// <summary>All jobs in a non-terminal state (queued, submitting, running), oldest first. Used at start-up.</summary>
    Task<IReadOnlyList<Job>> ListActiveAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Jobs whose content expired (<see cref="Job.ExpiresAt"/> at or before <paramref name="now"/>) and was not yet deleted
    /// (<see cref="Job.ContentDeletedAt"/> null), not soft-deleted, earliest expiry first, at most <paramref name="limit"/>
    /// (clamped to 1-1000). Used by the retention sweeper.
    /// </summary>
    Task<IReadOnlyList<Job>> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);
}

/// <summary>A listing query.</summary>
public sealed record JobQuery
{
    /// <summary>Only this owner's jobs; null lists every owner's (admin).</summary>
    public string? Owner { get; init; }

    /// <summary>
    /// Return jobs after this id in the chosen order (cursor); null starts at the beginning. An id that does not exist,
    /// or belongs to another owner than <see cref="Owner"/>, yields an empty page; a job soft-deleted since still
    /// marks its place.
    /// </summary>
    public string? After { get; init; }

    /// <summary>Page size, 1-100; values outside are clamped.</summary>
    public int Limit { get; init; } = 20;

    /// <summary>True: oldest first. False: newest first.</summary>
    public bool Ascending { get; init; }
}

/// <summary>A page of jobs.</summary>
/// <param name="Items">The jobs, in the query's order.</param>
/// <param name="HasMore">Whether more jobs follow the last one.</param>
public sealed record JobPage(IReadOnlyList<Job> Items, bool HasMore);

/// <summary>Thrown by <see cref="IJobStore.InsertAsync"/> when the id is taken.</summary>
public sealed class DuplicateJobException(string id) : Exception($"A job with id '{id}' already exists.")
{
    /// <summary>The id that was taken.</summary>
    public string Id { get; } = id;
}
