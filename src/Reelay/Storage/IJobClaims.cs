using Reelay.Jobs;

namespace Reelay.Storage;

/// <summary>
/// Leases on unfinished jobs, so that work is found through the store and nothing depends on one process's memory to
/// be picked up again. A node (its <c>owner</c> id) holds a claim on every unfinished job it works on
/// (queued in its lanes, submitting, running), renews all of its claims together while it lives, and releases a claim
/// with the time the job next needs attention (its due time). A claim whose lease ran out belongs to nobody: its node
/// died, and any node may claim the job again and recover it. A terminal job holds no claim.
/// <para>
/// Shaped for several nodes: <see cref="ClaimDueAsync"/> is one <c>UPDATE … WHERE job_id IN (SELECT … ORDER BY due_at
/// LIMIT n FOR UPDATE SKIP LOCKED) RETURNING …</c> on PostgreSQL, and a node may LISTEN for a NOTIFY sent on release
/// instead of polling. The SQLite store is one node. The contract test suite pins the behaviour for every implementation.
/// </para>
/// </summary>
/// <remarks>Lease times are compared to the <c>now</c> the caller passes (the engine's injected clock), never to the database's clock.</remarks>
public interface IJobClaims
{
    /// <summary>
    /// Claims, for <paramref name="owner"/> until <paramref name="now"/> + <paramref name="lease"/>, up to
    /// <paramref name="limit"/> unfinished, not deleted jobs that no live lease holds (never claimed, released, or lease
    /// expired) and that are due (released with a due time at or before <paramref name="now"/>, or never claimed), earliest
    /// due first, then in insertion order. Returns the claimed jobs.
    /// </summary>
    Task<IReadOnlyList<Job>> ClaimDueAsync(string owner, DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken);

    /// <summary>Claims one job for <paramref name="owner"/> unless another owner's live lease holds it; true when <paramref name="owner"/> holds it now.</summary>
    Task<bool> TryClaimAsync(string jobId, string owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Extends every live lease of <paramref name="owner"/> to <paramref name="now"/> + <paramref name="lease"/> in one write; returns how many.</summary>
    Task<int> RenewClaimsAsync(string owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>
    /// Gives up <paramref name="owner"/>'s claim on a job (or records a free one for a job never claimed), which becomes due
    /// at <paramref name="dueAt"/> for whoever claims it next. Another owner's claim is left alone.
    /// </summary>
    Task ReleaseClaimAsync(string jobId, string owner, DateTimeOffset dueAt, CancellationToken cancellationToken);

    /// <summary>Gives up every claim of <paramref name="owner"/> (a node that restarted holds nothing it did before), due at once.</summary>
    Task ReleaseClaimsAsync(string owner, CancellationToken cancellationToken);
}
