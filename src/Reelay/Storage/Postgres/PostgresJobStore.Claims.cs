using Npgsql;
using Reelay.Jobs;

namespace Reelay.Storage.Postgres;

/// <summary>
/// Job claims in <c>job_claims</c>: a trigger gives every unfinished job a free row when it is inserted and drops the row
/// when the job becomes terminal, so a claim is always an update of an existing row.
/// </summary>
public sealed partial class PostgresJobStore : IJobClaims
{
    // One statement: the inner SELECT locks the due rows it picks and skips rows another node is claiming right now, so
    // two nodes claiming at once get disjoint jobs and neither waits for the other. A row committed by another claimer
    // in between is re-checked against the WHERE (READ COMMITTED re-evaluates a locked row) and dropped when held.
    // A property: static fields of the other partial file may not be initialized yet when this file's are.
    private static string ClaimDueSql => $"""
        WITH claimed AS (
            UPDATE job_claims SET holder = @holder, lease_until = @until
            WHERE job_id IN (
                SELECT c.job_id FROM job_claims c JOIN jobs j ON j.id = c.job_id
                WHERE (c.holder IS NULL OR c.lease_until <= @now) AND c.due_at <= @now
                  AND j.status IN ('queued', 'submitting', 'running') AND j.deleted_at IS NULL
                ORDER BY c.due_at, c.job_seq
                LIMIT @take
                FOR UPDATE OF c SKIP LOCKED)
            RETURNING job_id, due_at, job_seq)
        SELECT {ColumnList} FROM jobs JOIN claimed ON claimed.job_id = jobs.id ORDER BY claimed.due_at, claimed.job_seq
        """;

    private const string UpsertClaimSql = """
        INSERT INTO job_claims (job_id, job_seq, holder, lease_until, due_at)
        SELECT id, seq, @holder, @until, @now FROM jobs WHERE id = @id
        ON CONFLICT (job_id) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
        WHERE job_claims.holder IS NULL OR job_claims.holder = excluded.holder OR job_claims.lease_until <= @now
        """;

    /// <inheritdoc />
    public async Task<IReadOnlyList<Job>> ClaimDueAsync(string owner, DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        return await QueryAsync(ClaimDueSql, p =>
        {
            p.AddWithValue("@holder", owner);
            p.AddWithValue("@until", (now + lease).ToUnixTimeMilliseconds());
            p.AddWithValue("@now", now.ToUnixTimeMilliseconds());
            p.AddWithValue("@take", Math.Clamp(limit, 1, 10_000));
        }, Read, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> TryClaimAsync(string jobId, string owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        return await ExecuteAsync(UpsertClaimSql, p =>
        {
            p.AddWithValue("@id", jobId);
            p.AddWithValue("@holder", owner);
            p.AddWithValue("@until", (now + lease).ToUnixTimeMilliseconds());
            p.AddWithValue("@now", now.ToUnixTimeMilliseconds());
        }, cancellationToken) == 1;
    }

    /// <inheritdoc />
    public Task<int> RenewClaimsAsync(string owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken) =>
        ExecuteAsync("UPDATE job_claims SET lease_until = @until WHERE holder = @holder AND lease_until > @now", p =>
        {
            p.AddWithValue("@holder", owner);
            p.AddWithValue("@until", (now + lease).ToUnixTimeMilliseconds());
            p.AddWithValue("@now", now.ToUnixTimeMilliseconds());
        }, cancellationToken);

    /// <inheritdoc />
    public Task ReleaseClaimAsync(string jobId, string owner, DateTimeOffset dueAt, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "INSERT INTO job_claims (job_id, job_seq, holder, lease_until, due_at) SELECT id, seq, NULL, NULL, @due FROM jobs WHERE id = @id "
            + "ON CONFLICT (job_id) DO UPDATE SET holder = NULL, lease_until = NULL, due_at = excluded.due_at WHERE job_claims.holder IS NULL OR job_claims.holder = @holder",
            p =>
            {
                p.AddWithValue("@id", jobId);
                p.AddWithValue("@holder", owner);
                p.AddWithValue("@due", dueAt.ToUnixTimeMilliseconds());
            }, cancellationToken);

    /// <inheritdoc />
    public Task ReleaseClaimsAsync(string owner, CancellationToken cancellationToken) =>
        ExecuteAsync("UPDATE job_claims SET holder = NULL, lease_until = NULL WHERE holder = @holder", p => p.AddWithValue("@holder", owner), cancellationToken);
}
