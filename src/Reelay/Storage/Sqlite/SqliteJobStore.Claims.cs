using System.Data;
using Reelay.Jobs;
using Reelay.Storage.Sql;

namespace Reelay.Storage.Sqlite;

/// <summary>Job claims in the <c>job_claims</c> table (migration 6); a trigger drops a job's claim when it becomes terminal.</summary>
public sealed partial class SqliteJobStore
{
    // No live lease holds the job (never claimed, released, or expired) and it is due. Column names are distinct from
    // the jobs table's, so the job columns stay unqualified.
    private static readonly string ClaimDueSql = $"SELECT {ColumnList} FROM jobs LEFT JOIN job_claims ON job_id = id "
        + "WHERE status IN ('queued', 'submitting', 'running') AND deleted_at IS NULL "
        + "AND (job_id IS NULL OR ((holder IS NULL OR lease_until <= @now) AND due_at <= @now)) "
        + "ORDER BY COALESCE(due_at, 0), seq LIMIT @take";

    // A job never claimed has no claim row yet.
    private const string InsertClaimSql = "INSERT INTO job_claims (job_id, holder, lease_until, due_at) VALUES (@id, {0})";

    private static readonly string UpsertClaimText = UpsertClaim(InsertClaimSql);

    private static readonly string ReleaseClaimText = ReleaseClaim(InsertClaimSql);

    /// <inheritdoc />
    internal override string UpsertClaimSql => UpsertClaimText;

    /// <inheritdoc />
    internal override string ReleaseClaimSql => ReleaseClaimText;

    /// <inheritdoc />
    public override Task<IReadOnlyList<Job>> ClaimDueAsync(string owner, DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);

        // Select and claim in one write transaction: nobody can claim in between. One prepared upsert serves every row.
        return InWriteTransactionAsync<IReadOnlyList<Job>>(async (connection, transaction) =>
        {
            var jobs = await SqlCommands.QueryAsync(connection, transaction, ClaimDueSql,
                c => c.Bind("@now", now.Millis()).Bind("@take", Math.Clamp(limit, 1, 10_000)), ReadJob, cancellationToken);
            await using var claim = connection.CreateCommand();
            claim.Transaction = transaction;
            claim.CommandText = UpsertClaimText;
            claim.Bind("@id", null, DbType.String).Bind("@holder", owner).Bind("@until", (now + lease).Millis()).Bind("@now", now.Millis());
            var id = claim.Parameters[0];
            foreach (var job in jobs)
            {
                id.Value = job.Id;
                await claim.ExecuteNonQueryAsync(cancellationToken);
            }

            return jobs;
        }, cancellationToken);
    }
}
