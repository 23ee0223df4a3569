using System.Data;
using System.Data.Common;
using System.Text.Json;
using Reelay.Webhooks;

namespace Reelay.Storage.Sql;

/// <summary>
/// The webhook outbox in the job store's database (tables webhook_deliveries, webhook_attempts, webhook_secrets, created
/// by the job store's <c>InitializeAsync</c>), over plain ADO.NET: the logic SQLite and PostgreSQL share. It uses the job
/// store's connections and writer discipline (SQLite's write gate). Thread-safe.
/// </summary>
public abstract class SqlWebhookStore : IWebhookStore
{
    /// <summary>The delivery columns in the order <see cref="ReadDelivery"/> reads them.</summary>
    private protected const string DeliveryColumns =
        "id, job_id, owner, event_type, sequence, url, payload, headers, created_at, state, attempts, next_attempt_at, last_attempt_at, last_status_code, last_error, finished_at";

    /// <summary>First in line: no earlier pending delivery of the same job.</summary>
    private protected const string HeadOfJob =
        "d.state = 'pending' AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.job_id = d.job_id AND e.state = 'pending' AND e.seq < d.seq)";

    // Events of one job keep their order: a delivery is dropped when a later one (by event rank, then sequence) exists.
    private const string EnqueueSql = """
        INSERT INTO webhook_deliveries (id, job_id, owner, event_type, event_rank, sequence, url, payload, headers, created_at, state, attempts, next_attempt_at)
        SELECT @id, @job_id, @owner, @event_type, @rank, @sequence, @url, @payload, @headers, @created_at, 'pending', 0, @next_attempt_at
        WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE job_id = @job_id AND (event_rank > @rank OR (event_rank = @rank AND sequence >= @sequence)))
        ON CONFLICT DO NOTHING
        """;

    // One command, two statements, in one write transaction.
    private const string RecordAttemptSql = """
        INSERT INTO webhook_attempts (delivery_id, attempt, at, duration_ms, status_code, error) VALUES (@id, @attempt, @at, @duration, @status, @error)
        ON CONFLICT (delivery_id, attempt) DO UPDATE SET at = excluded.at, duration_ms = excluded.duration_ms, status_code = excluded.status_code, error = excluded.error;
        UPDATE webhook_deliveries SET attempts = @attempt, last_attempt_at = @at, last_status_code = @status, last_error = @error,
            state = @state, next_attempt_at = COALESCE(@next, next_attempt_at), finished_at = @finished
        WHERE id = @id;
        """;

    private protected SqlWebhookStore(SqlJobStore database)
    {
        ArgumentNullException.ThrowIfNull(database);
        Database = database;
    }

    /// <summary>The job store whose database holds the outbox.</summary>
    private protected SqlJobStore Database { get; }

    /// <inheritdoc />
    public async Task<bool> EnqueueAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        return await EnqueueAsync(delivery.JobId, EnqueueSql, c => c
            .Bind("@id", delivery.Id)
            .Bind("@job_id", delivery.JobId)
            .Bind("@owner", delivery.Owner)
            .Bind("@event_type", delivery.EventType)
            .Bind("@rank", WebhookEvents.Rank(delivery.EventType))
            .Bind("@sequence", delivery.Sequence)
            .Bind("@url", delivery.Url)
            .Bind("@payload", delivery.Payload)
            .Bind("@headers", JsonSerializer.Serialize(delivery.Headers, WebhookJsonContext.Default.IReadOnlyDictionaryStringString))
            .Bind("@created_at", delivery.CreatedAt.Millis())
            .Bind("@next_attempt_at", delivery.NextAttemptAt.Millis()), cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<WebhookDelivery>> ListDueAsync(DateTimeOffset now, int limit, IReadOnlySet<string> busyJobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(busyJobs);
        var sql = $"SELECT {DeliveryColumns} FROM webhook_deliveries d WHERE {HeadOfJob} AND d.next_attempt_at <= @now ORDER BY d.next_attempt_at, d.seq LIMIT @take";
        var rows = await Database.QueryAsync(sql, c => c.Bind("@now", now.Millis()).Bind("@take", limit + busyJobs.Count), ReadDelivery, cancellationToken)
            .ConfigureAwait(false);
        return [.. rows.Where(d => !busyJobs.Contains(d.JobId)).Take(limit)];
    }

    /// <inheritdoc />
    public async Task<DateTimeOffset?> NextDueAsync(IReadOnlySet<string> busyJobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(busyJobs);
        var rows = await Database.QueryAsync($"SELECT d.job_id, d.next_attempt_at FROM webhook_deliveries d WHERE {HeadOfJob} ORDER BY d.next_attempt_at LIMIT @take",
            c => c.Bind("@take", busyJobs.Count + 1),
            r => (Job: r.GetString(0), At: r.Time(1)), cancellationToken).ConfigureAwait(false);
        return rows.Where(r => !busyJobs.Contains(r.Job)).Select(r => (DateTimeOffset?)r.At).FirstOrDefault();
    }

    /// <inheritdoc />
    public async Task RecordAttemptAsync(WebhookAttempt attempt, WebhookDeliveryState state, DateTimeOffset? nextAttemptAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempt);

        // Nullable values are typed: PostgreSQL cannot infer the type of a bare NULL inside COALESCE.
        await Database.InWriteTransactionAsync((connection, transaction) => SqlCommands.ExecuteAsync(connection, transaction, RecordAttemptSql, c => c
            .Bind("@id", attempt.DeliveryId)
            .Bind("@attempt", attempt.Attempt)
            .Bind("@at", attempt.At.Millis())
            .Bind("@duration", (long)attempt.Duration.TotalMilliseconds)
            .Bind("@status", attempt.StatusCode, DbType.Int32)
            .Bind("@error", attempt.Error, DbType.String)
            .Bind("@state", StateText(state))
            .Bind("@next", nextAttemptAt.Millis(), DbType.Int64)
            .Bind("@finished", state == WebhookDeliveryState.Pending ? null : (attempt.At + attempt.Duration).Millis(), DbType.Int64),
            cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<WebhookDeliveryLog>> ListForJobAsync(string jobId, CancellationToken cancellationToken)
    {
        var deliveries = await Database.QueryAsync($"SELECT {DeliveryColumns} FROM webhook_deliveries WHERE job_id = @job ORDER BY seq",
            c => c.Bind("@job", jobId), ReadDelivery, cancellationToken).ConfigureAwait(false);
        var attempts = await Database.QueryAsync(
            "SELECT a.delivery_id, a.attempt, a.at, a.duration_ms, a.status_code, a.error FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.job_id = @job ORDER BY a.delivery_id, a.attempt",
            c => c.Bind("@job", jobId),
            r => new WebhookAttempt(r.GetString(0), r.GetInt32(1), r.Time(2), TimeSpan.FromMilliseconds(r.GetInt64(3)), r.OptionalInt32(4), r.Text(5)),
            cancellationToken).ConfigureAwait(false);
        var byDelivery = attempts.ToLookup(a => a.DeliveryId, StringComparer.Ordinal);
        return [.. deliveries.Select(d => new WebhookDeliveryLog(d, [.. byDelivery[d.Id]]))];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListJobsWithWebhooksAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
        await Database.QueryAsync("SELECT id FROM jobs WHERE webhook_url IS NOT NULL AND updated_at >= @since AND deleted_at IS NULL ORDER BY seq",
            c => c.Bind("@since", since.Millis()), r => r.GetString(0), cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<WebhookSecrets> GetOrCreateSecretsAsync(string owner, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (await ReadSecretsAsync(owner, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            return existing;
        }

        await Database.ExecuteWriteAsync("INSERT INTO webhook_secrets (owner, secret, created_at) VALUES (@owner, @secret, @now) ON CONFLICT (owner) DO NOTHING",
            c => c.Bind("@owner", owner).Bind("@secret", WebhookSigner.NewSecret()).Bind("@now", now.Millis()), cancellationToken).ConfigureAwait(false);
        return await ReadSecretsAsync(owner, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The webhook secret was not stored.");
    }

    /// <inheritdoc />
    public async Task<WebhookSecrets> RotateSecretAsync(string owner, DateTimeOffset now, DateTimeOffset previousExpiresAt, CancellationToken cancellationToken)
    {
        await GetOrCreateSecretsAsync(owner, now, cancellationToken).ConfigureAwait(false);
        await Database.ExecuteWriteAsync("UPDATE webhook_secrets SET previous_secret = secret, previous_expires_at = @expires, secret = @secret, created_at = @now WHERE owner = @owner",
            c => c.Bind("@owner", owner).Bind("@secret", WebhookSigner.NewSecret()).Bind("@now", now.Millis()).Bind("@expires", previousExpiresAt.Millis()),
            cancellationToken).ConfigureAwait(false);
        return await ReadSecretsAsync(owner, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The webhook secret was not stored.");
    }

    /// <summary>
    /// Runs the enqueue insert (<paramref name="insertSql"/> bound by <paramref name="bind"/>) for a delivery of job
    /// <paramref name="jobId"/>, and returns the rows inserted. The default is one autocommit write; a database shared by
    /// several writers serializes the enqueues of one job here so its events keep their order.
    /// </summary>
    private protected virtual Task<int> EnqueueAsync(string jobId, string insertSql, Action<DbCommand> bind, CancellationToken cancellationToken) =>
        Database.ExecuteWriteAsync(insertSql, bind, cancellationToken);

    /// <summary>Maps a row selected with <see cref="DeliveryColumns"/>.</summary>
    private protected static WebhookDelivery ReadDelivery(DbDataReader r) => new()
    {
        Id = r.GetString(0),
        JobId = r.GetString(1),
        Owner = r.GetString(2),
        EventType = r.GetString(3),
        Sequence = r.GetInt32(4),
        Url = r.GetString(5),
        Payload = (byte[])r.GetValue(6),
        Headers = JsonSerializer.Deserialize(r.GetString(7), WebhookJsonContext.Default.IReadOnlyDictionaryStringString) ?? new Dictionary<string, string>(),
        CreatedAt = r.Time(8),
        State = r.GetString(9) switch { "delivered" => WebhookDeliveryState.Delivered, "dead" => WebhookDeliveryState.Dead, _ => WebhookDeliveryState.Pending },
        Attempts = r.GetInt32(10),
        NextAttemptAt = r.Time(11),
        LastAttemptAt = r.OptionalTime(12),
        LastStatusCode = r.OptionalInt32(13),
        LastError = r.Text(14),
        FinishedAt = r.OptionalTime(15),
    };

    private static string StateText(WebhookDeliveryState state) => state switch
    {
        WebhookDeliveryState.Delivered => "delivered",
        WebhookDeliveryState.Dead => "dead",
        _ => "pending",
    };

    private async Task<WebhookSecrets?> ReadSecretsAsync(string owner, CancellationToken cancellationToken)
    {
        var rows = await Database.QueryAsync("SELECT secret, created_at, previous_secret, previous_expires_at FROM webhook_secrets WHERE owner = @owner",
            c => c.Bind("@owner", owner),
            r => new WebhookSecrets(r.GetString(0), r.Time(1), r.Text(2), r.OptionalTime(3)),
            cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }
}
