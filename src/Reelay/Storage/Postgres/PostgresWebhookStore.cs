using System.Data.Common;
using Reelay.Storage.Sql;
using Reelay.Webhooks;

namespace Reelay.Storage.Postgres;

/// <summary>
/// The webhook outbox in the job store's PostgreSQL database (webhook_deliveries, webhook_attempts, webhook_secrets).
/// The schema is created by the job store's <c>InitializeAsync</c>. Safe from several processes: enqueues of one job are
/// serialized by an advisory transaction lock on the job, so its events keep their order whichever node writes them, and
/// <see cref="ClaimDueAsync"/> hands each due delivery to one node. The rest is <see cref="SqlWebhookStore"/>'s.
/// </summary>
// IWebhookStore is listed again so that ClaimDueAsync below, not the interface's default, implements it.
public sealed class PostgresWebhookStore : SqlWebhookStore, IWebhookStore
{
    /// <summary>Creates the store over the job database, sharing its connection pool.</summary>
    public PostgresWebhookStore(PostgresJobStore database)
        : base(database)
    {
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<WebhookDelivery>> ClaimDueAsync(DateTimeOffset now, TimeSpan lease, int limit, IReadOnlySet<string> busyJobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(busyJobs);
        // One statement: the rows picked are locked, and rows another node is taking right now are skipped; a row it took
        // and committed no longer matches (READ COMMITTED re-checks a locked row), its next attempt having moved on.
        var sql = $"""
            WITH taken AS (
                UPDATE webhook_deliveries SET next_attempt_at = @until
                WHERE seq IN (
                    SELECT d.seq FROM webhook_deliveries d
                    WHERE {HeadOfJob} AND d.next_attempt_at <= @now AND NOT (d.job_id = ANY(@busy))
                    ORDER BY d.next_attempt_at, d.seq LIMIT @take
                    FOR UPDATE OF d SKIP LOCKED)
                RETURNING seq, {DeliveryColumns})
            SELECT {DeliveryColumns} FROM taken ORDER BY seq
            """;
        return await Database.QueryAsync(sql,
            c => c.Bind("@now", now.Millis()).Bind("@until", (now + lease).Millis()).Bind("@busy", busyJobs.ToArray()).Bind("@take", Math.Max(limit, 0)),
            ReadDelivery, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    private protected override Task<int> EnqueueAsync(string jobId, string insertSql, Action<DbCommand> bind, CancellationToken cancellationToken) =>
        Database.InWriteTransactionAsync(async (connection, transaction) =>
        {
            await SqlCommands.ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtext(@job_id))",
                c => c.Bind("@job_id", jobId), cancellationToken).ConfigureAwait(false);
            return await SqlCommands.ExecuteAsync(connection, transaction, insertSql, bind, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
}
