using Reelay.Jobs;

namespace Reelay.Storage.Sql;

/// <summary>
/// Job claims in the <c>job_claims</c> table; a trigger drops a job's claim when it becomes terminal. Renewing and
/// releasing read the same on both databases; each store supplies how a claim row is first written (SQLite writes the
/// job id alone, PostgreSQL copies the job's seq for its claim order) and its own <see cref="ClaimDueAsync"/>.
/// </summary>
public abstract partial class SqlJobStore : IJobClaims
{
    /// <inheritdoc />
    public abstract Task<IReadOnlyList<Job>> ClaimDueAsync(string owner, DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken);

    /// <inheritdoc />
    public async Task<bool> TryClaimAsync(string jobId, string owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        return await ExecuteWriteAsync(UpsertClaimSql,
            c => c.Bind("@id", jobId).Bind("@holder", owner).Bind("@until", (now + lease).Millis()).Bind("@now", now.Millis()),
            cancellationToken) == 1;
    }

    /// <inheritdoc />
    public Task<int> RenewClaimsAsync(string owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken) =>
        ExecuteWriteAsync("UPDATE job_claims SET lease_until = @until WHERE holder = @holder AND lease_until > @now",
            c => c.Bind("@holder", owner).Bind("@until", (now + lease).Millis()).Bind("@now", now.Millis()),
            cancellationToken);

    /// <inheritdoc />
    public Task ReleaseClaimAsync(string jobId, string owner, DateTimeOffset dueAt, CancellationToken cancellationToken) =>
        ExecuteWriteAsync(ReleaseClaimSql, c => c.Bind("@id", jobId).Bind("@holder", owner).Bind("@due", dueAt.Millis()), cancellationToken);

    /// <inheritdoc />
    public Task ReleaseClaimsAsync(string owner, CancellationToken cancellationToken) =>
        ExecuteWriteAsync("UPDATE job_claims SET holder = NULL, lease_until = NULL WHERE holder = @holder", c => c.Bind("@holder", owner), cancellationToken);

    /// <summary>Claims job <c>@id</c> for <c>@holder</c> until <c>@until</c> unless another holder's live lease (at <c>@now</c>) holds it.</summary>
    internal abstract string UpsertClaimSql { get; }

    /// <summary>Frees <c>@holder</c>'s claim on job <c>@id</c> (or records a free one), due at <c>@due</c>.</summary>
    internal abstract string ReleaseClaimSql { get; }

    /// <summary>
    /// The claim upsert over a database's way to write a claim row: <paramref name="insertClaim"/> is an INSERT INTO
    /// job_claims whose values end with the placeholder <c>{0}</c> for (holder, lease_until, due_at).
    /// </summary>
    private protected static string UpsertClaim(string insertClaim) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, insertClaim, "@holder, @until, @now")
        + " ON CONFLICT (job_id) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until"
        + " WHERE job_claims.holder IS NULL OR job_claims.holder = excluded.holder OR job_claims.lease_until <= @now";

    /// <summary>The claim release over a database's way to write a claim row (see <see cref="UpsertClaim"/>).</summary>
    private protected static string ReleaseClaim(string insertClaim) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, insertClaim, "NULL, NULL, @due")
        + " ON CONFLICT (job_id) DO UPDATE SET holder = NULL, lease_until = NULL, due_at = excluded.due_at"
        + " WHERE job_claims.holder IS NULL OR job_claims.holder = @holder";
}
