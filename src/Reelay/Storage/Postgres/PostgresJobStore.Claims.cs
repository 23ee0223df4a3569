using Reelay.Jobs;
using Reelay.Storage.Sql;

namespace Reelay.Storage.Postgres;

/// <summary>
/// Job claims in <c>job_claims</c>: a trigger gives every unfinished job a free row when it is inserted and drops the row
/// when the job becomes terminal, so a claim is always an update of an existing row.
/// </summary>
public sealed partial class PostgresJobStore
{
    // One statement: the inner SELECT locks the due rows it picks and skips rows another node is claiming right now, so
    // two nodes claiming at once get disjoint jobs and neither waits for the other. A row committed by another claimer
    // in between is re-checked against the WHERE (READ COMMITTED re-evaluates a locked row) and dropped when held.
    private static readonly string ClaimDueSql = $"""
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

    // The claim row carries the job's seq (the claim order), so it is written from the jobs row.
    private const string InsertClaimSql = "INSERT INTO job_claims (job_id, job_seq, holder, lease_until, due_at) SELECT id, seq, {0} FROM jobs WHERE id = @id";

    private static readonly string UpsertClaimText = UpsertClaim(InsertClaimSql);

    private static readonly string ReleaseClaimText = ReleaseClaim(InsertClaimSql);

    /// <inheritdoc />
    internal override string UpsertClaimSql => UpsertClaimText;

    /// <inheritdoc />
    internal override string ReleaseClaimSql => ReleaseClaimText;

    /// <inheritdoc />
    public override async Task<IReadOnlyList<Job>> ClaimDueAsync(string owner, DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        return await QueryAsync(ClaimDueSql,
            c => c.Bind("@holder", owner).Bind("@until", (now + lease).Millis()).Bind("@now", now.Millis()).Bind("@take", Math.Clamp(limit, 1, 10_000)),
            ReadJob, cancellationToken);
    }
}
