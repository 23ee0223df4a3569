using Microsoft.Data.Sqlite;
using Reelay.Jobs;

namespace Reelay.Storage.Sqlite;

/// <summary>Job claims in the <c>job_claims</c> table (migration 6); a trigger drops a job's claim when it becomes terminal.</summary>
public sealed partial class SqliteJobStore : IJobClaims
{
    // No live lease holds the job (never claimed, released, or expired) and it is due. Column names are distinct from
    // the jobs table's, so the job columns stay unqualified.
    private static string ClaimDueSql => $"SELECT {string.Join(", ", Columns)}, version FROM jobs LEFT JOIN job_claims ON job_id = id "
        + "WHERE status IN ('queued', 'submitting', 'running') AND deleted_at IS NULL "
        + "AND (job_id IS NULL OR ((holder IS NULL OR lease_until <= @now) AND due_at <= @now)) "
        + "ORDER BY COALESCE(due_at, 0), seq LIMIT @take";

    private const string UpsertClaimSql =
        "INSERT INTO job_claims (job_id, holder, lease_until, due_at) VALUES (@id, @holder, @until, @now) "
        + "ON CONFLICT (job_id) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until "
        + "WHERE job_claims.holder IS NULL OR job_claims.holder = excluded.holder OR job_claims.lease_until <= @now";

    /// <inheritdoc />
    public Task<IReadOnlyList<Job>> ClaimDueAsync(string owner, DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        return WithWriteConnectionAsync<IReadOnlyList<Job>>(async connection =>
        {
            // Select and claim in one write transaction: nobody can claim in between.
            await using var transaction = connection.BeginTransaction(deferred: false);
            var jobs = new List<Job>();
            await using (var select = connection.CreateCommand())
            {
                select.Transaction = transaction;
                select.CommandText = ClaimDueSql;
                select.Parameters.AddWithValue("@now", now.ToUnixTimeMilliseconds());
                select.Parameters.AddWithValue("@take", Math.Clamp(limit, 1, 10_000));
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    jobs.Add(Read(reader));
                }
            }

            await using (var claim = connection.CreateCommand())
            {
                claim.Transaction = transaction;
                claim.CommandText = UpsertClaimSql;
                var id = claim.Parameters.Add("@id", SqliteType.Text);
                claim.Parameters.AddWithValue("@holder", owner);
                claim.Parameters.AddWithValue("@until", (now + lease).ToUnixTimeMilliseconds());
                claim.Parameters.AddWithValue("@now", now.ToUnixTimeMilliseconds());
                foreach (var job in jobs)
                {
                    id.Value = job.Id;
                    await claim.ExecuteNonQueryAsync(cancellationToken);
                }
            }

            await transaction.CommitAsync(cancellationToken);
            return jobs;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> TryClaimAsync(string jobId, string owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        return await ExecuteClaimAsync(UpsertClaimSql, p =>
        {
            p.AddWithValue("@id", jobId);
            p.AddWithValue("@holder", owner);
            p.AddWithValue("@until", (now + lease).ToUnixTimeMilliseconds());
            p.AddWithValue("@now", now.ToUnixTimeMilliseconds());
        }, cancellationToken) == 1;
    }

    /// <inheritdoc />
    public Task<int> RenewClaimsAsync(string owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken) =>
        ExecuteClaimAsync("UPDATE job_claims SET lease_until = @until WHERE holder = @holder AND lease_until > @now", p =>
        {
            p.AddWithValue("@holder", owner);
            p.AddWithValue("@until", (now + lease).ToUnixTimeMilliseconds());
            p.AddWithValue("@now", now.ToUnixTimeMilliseconds());
        }, cancellationToken);

    /// <inheritdoc />
    public Task ReleaseClaimAsync(string jobId, string owner, DateTimeOffset dueAt, CancellationToken cancellationToken) =>
        ExecuteClaimAsync(
            "INSERT INTO job_claims (job_id, holder, lease_until, due_at) VALUES (@id, NULL, NULL, @due) "
            + "ON CONFLICT (job_id) DO UPDATE SET holder = NULL, lease_until = NULL, due_at = @due WHERE job_claims.holder IS NULL OR job_claims.holder = @holder",
            p =>
        {
            p.AddWithValue("@id", jobId);
            p.AddWithValue("@holder", owner);
            p.AddWithValue("@due", dueAt.ToUnixTimeMilliseconds());
        }, cancellationToken);

    /// <inheritdoc />
    public Task ReleaseClaimsAsync(string owner, CancellationToken cancellationToken) =>
        ExecuteClaimAsync("UPDATE job_claims SET holder = NULL, lease_until = NULL WHERE holder = @holder", p => p.AddWithValue("@holder", owner), cancellationToken);

    private Task<int> ExecuteClaimAsync(string sql, Action<SqliteParameterCollection> bind, CancellationToken cancellationToken) =>
        WithWriteConnectionAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            bind(command.Parameters);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
}
