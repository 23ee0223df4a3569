using System.Text.Json;
using Npgsql;
using Reelay.Webhooks;

namespace Reelay.Storage.Postgres;

/// <summary>
/// The webhook outbox in the job store's PostgreSQL database (webhook_deliveries, webhook_attempts, webhook_secrets).
/// The schema is created by the job store's <c>InitializeAsync</c>. Safe from several processes: enqueues of one job are
/// serialized by an advisory transaction lock on the job, so its events keep their order whichever node writes them.
/// </summary>
public sealed class PostgresWebhookStore : IWebhookStore
{
    private const string DeliveryColumns =
        "id, job_id, owner, event_type, sequence, url, payload, headers, created_at, state, attempts, next_attempt_at, last_attempt_at, last_status_code, last_error, finished_at";

    // First in line: no earlier pending delivery of the same job.
    private const string HeadOfJob =
        "d.state = 'pending' AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.job_id = d.job_id AND e.state = 'pending' AND e.seq < d.seq)";

    private readonly PostgresJobStore _database;

    /// <summary>Creates the store over the job database, sharing its connection pool.</summary>
    public PostgresWebhookStore(PostgresJobStore database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <inheritdoc />
    public async Task<bool> EnqueueAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        const string sql = """
            INSERT INTO webhook_deliveries (id, job_id, owner, event_type, event_rank, sequence, url, payload, headers, created_at, state, attempts, next_attempt_at)
            SELECT @id, @job_id, @owner, @event_type, @rank, @sequence, @url, @payload, @headers, @created_at, 'pending', 0, @next_attempt_at
            WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE job_id = @job_id AND (event_rank > @rank OR (event_rank = @rank AND sequence >= @sequence)))
            ON CONFLICT DO NOTHING
            """;
        return await _database.InTransactionAsync(async (connection, transaction) =>
        {
            await PostgresJobStore.ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtext(@job_id))",
                p => p.AddWithValue("@job_id", delivery.JobId), cancellationToken).ConfigureAwait(false);
            return await PostgresJobStore.ExecuteAsync(connection, transaction, sql, p => BindDelivery(p, delivery), cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false) == 1;
    }

    private static void BindDelivery(NpgsqlParameterCollection p, WebhookDelivery delivery)
    {
            p.AddWithValue("@id", delivery.Id);
            p.AddWithValue("@job_id", delivery.JobId);
            p.AddWithValue("@owner", delivery.Owner);
            p.AddWithValue("@event_type", delivery.EventType);
            p.AddWithValue("@rank", WebhookEvents.Rank(delivery.EventType));
            p.AddWithValue("@sequence", delivery.Sequence);
            p.AddWithValue("@url", delivery.Url);
            p.AddWithValue("@payload", delivery.Payload);
            p.AddWithValue("@headers", JsonSerializer.Serialize(delivery.Headers, WebhookJsonContext.Default.IReadOnlyDictionaryStringString));
            p.AddWithValue("@created_at", delivery.CreatedAt.ToUnixTimeMilliseconds());
            p.AddWithValue("@next_attempt_at", delivery.NextAttemptAt.ToUnixTimeMilliseconds());
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<WebhookDelivery>> ListDueAsync(DateTimeOffset now, int limit, IReadOnlySet<string> busyJobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(busyJobs);
        var sql = $"SELECT {DeliveryColumns} FROM webhook_deliveries d WHERE {HeadOfJob} AND d.next_attempt_at <= @now ORDER BY d.next_attempt_at, d.seq LIMIT @take";
        var rows = await QueryAsync(sql, p =>
        {
            p.AddWithValue("@now", now.ToUnixTimeMilliseconds());
            p.AddWithValue("@take", limit + busyJobs.Count);
        }, ReadDelivery, cancellationToken).ConfigureAwait(false);
        return [.. rows.Where(d => !busyJobs.Contains(d.JobId)).Take(limit)];
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
        return await QueryAsync(sql, p =>
        {
            p.AddWithValue("@now", now.ToUnixTimeMilliseconds());
            p.AddWithValue("@until", (now + lease).ToUnixTimeMilliseconds());
            p.AddWithValue("@busy", busyJobs.ToArray());
            p.AddWithValue("@take", Math.Max(limit, 0));
        }, ReadDelivery, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<DateTimeOffset?> NextDueAsync(IReadOnlySet<string> busyJobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(busyJobs);
        var rows = await QueryAsync($"SELECT d.job_id, d.next_attempt_at FROM webhook_deliveries d WHERE {HeadOfJob} ORDER BY d.next_attempt_at LIMIT @take",
            p => p.AddWithValue("@take", busyJobs.Count + 1),
            r => (Job: r.GetString(0), At: DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1))), cancellationToken).ConfigureAwait(false);
        return rows.Where(r => !busyJobs.Contains(r.Job)).Select(r => (DateTimeOffset?)r.At).FirstOrDefault();
    }

    /// <inheritdoc />
    public async Task RecordAttemptAsync(WebhookAttempt attempt, WebhookDeliveryState state, DateTimeOffset? nextAttemptAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        void Bind(NpgsqlParameterCollection p)
        {
            p.AddWithValue("@id", attempt.DeliveryId);
            p.AddWithValue("@attempt", attempt.Attempt);
            p.AddWithValue("@at", attempt.At.ToUnixTimeMilliseconds());
            p.AddWithValue("@duration", (long)attempt.Duration.TotalMilliseconds);
            p.AddWithValue("@status", NpgsqlTypes.NpgsqlDbType.Integer, (object?)attempt.StatusCode ?? DBNull.Value);
            p.AddWithValue("@error", NpgsqlTypes.NpgsqlDbType.Text, (object?)attempt.Error ?? DBNull.Value);
            p.AddWithValue("@state", StateText(state));
            p.AddWithValue("@next", NpgsqlTypes.NpgsqlDbType.Bigint, nextAttemptAt is { } next ? next.ToUnixTimeMilliseconds() : DBNull.Value);
            p.AddWithValue("@finished", NpgsqlTypes.NpgsqlDbType.Bigint, state == WebhookDeliveryState.Pending ? DBNull.Value : (attempt.At + attempt.Duration).ToUnixTimeMilliseconds());
        }

        await _database.InTransactionAsync(async (connection, transaction) =>
        {
            await PostgresJobStore.ExecuteAsync(connection, transaction, """
                INSERT INTO webhook_attempts (delivery_id, attempt, at, duration_ms, status_code, error) VALUES (@id, @attempt, @at, @duration, @status, @error)
                ON CONFLICT (delivery_id, attempt) DO UPDATE SET at = excluded.at, duration_ms = excluded.duration_ms, status_code = excluded.status_code, error = excluded.error
                """, Bind, cancellationToken).ConfigureAwait(false);
            return await PostgresJobStore.ExecuteAsync(connection, transaction, """
                UPDATE webhook_deliveries SET attempts = @attempt, last_attempt_at = @at, last_status_code = @status, last_error = @error,
                    state = @state, next_attempt_at = COALESCE(@next, next_attempt_at), finished_at = @finished
                WHERE id = @id
                """, Bind, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<WebhookDeliveryLog>> ListForJobAsync(string jobId, CancellationToken cancellationToken)
    {
        var deliveries = await QueryAsync($"SELECT {DeliveryColumns} FROM webhook_deliveries WHERE job_id = @job ORDER BY seq",
            p => p.AddWithValue("@job", jobId), ReadDelivery, cancellationToken).ConfigureAwait(false);
        var attempts = await QueryAsync(
            "SELECT a.delivery_id, a.attempt, a.at, a.duration_ms, a.status_code, a.error FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.job_id = @job ORDER BY a.delivery_id, a.attempt",
            p => p.AddWithValue("@job", jobId),
            r => new WebhookAttempt(r.GetString(0), r.GetInt32(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)), TimeSpan.FromMilliseconds(r.GetInt64(3)),
                r.IsDBNull(4) ? null : r.GetInt32(4), r.IsDBNull(5) ? null : r.GetString(5)),
            cancellationToken).ConfigureAwait(false);
        var byDelivery = attempts.ToLookup(a => a.DeliveryId, StringComparer.Ordinal);
        return [.. deliveries.Select(d => new WebhookDeliveryLog(d, [.. byDelivery[d.Id]]))];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListJobsWithWebhooksAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
        await QueryAsync("SELECT id FROM jobs WHERE webhook_url IS NOT NULL AND updated_at >= @since AND deleted_at IS NULL ORDER BY seq",
            p => p.AddWithValue("@since", since.ToUnixTimeMilliseconds()), r => r.GetString(0), cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<WebhookSecrets> GetOrCreateSecretsAsync(string owner, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (await ReadSecretsAsync(owner, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            return existing;
        }

        await WriteAsync("INSERT INTO webhook_secrets (owner, secret, created_at) VALUES (@owner, @secret, @now) ON CONFLICT (owner) DO NOTHING", p =>
        {
            p.AddWithValue("@owner", owner);
            p.AddWithValue("@secret", WebhookSigner.NewSecret());
            p.AddWithValue("@now", now.ToUnixTimeMilliseconds());
        }, cancellationToken).ConfigureAwait(false);
        return await ReadSecretsAsync(owner, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The webhook secret was not stored.");
    }

    /// <inheritdoc />
    public async Task<WebhookSecrets> RotateSecretAsync(string owner, DateTimeOffset now, DateTimeOffset previousExpiresAt, CancellationToken cancellationToken)
    {
        await GetOrCreateSecretsAsync(owner, now, cancellationToken).ConfigureAwait(false);
        await WriteAsync("UPDATE webhook_secrets SET previous_secret = secret, previous_expires_at = @expires, secret = @secret, created_at = @now WHERE owner = @owner", p =>
        {
            p.AddWithValue("@owner", owner);
            p.AddWithValue("@secret", WebhookSigner.NewSecret());
            p.AddWithValue("@now", now.ToUnixTimeMilliseconds());
            p.AddWithValue("@expires", previousExpiresAt.ToUnixTimeMilliseconds());
        }, cancellationToken).ConfigureAwait(false);
        return await ReadSecretsAsync(owner, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The webhook secret was not stored.");
    }

    private async Task<WebhookSecrets?> ReadSecretsAsync(string owner, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync("SELECT secret, created_at, previous_secret, previous_expires_at FROM webhook_secrets WHERE owner = @owner",
            p => p.AddWithValue("@owner", owner),
            r => new WebhookSecrets(r.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), r.IsDBNull(2) ? null : r.GetString(2),
                r.IsDBNull(3) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3))),
            cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    private static WebhookDelivery ReadDelivery(NpgsqlDataReader r) => new()
    {
        Id = r.GetString(0),
        JobId = r.GetString(1),
        Owner = r.GetString(2),
        EventType = r.GetString(3),
        Sequence = r.GetInt32(4),
        Url = r.GetString(5),
        Payload = (byte[])r.GetValue(6),
        Headers = JsonSerializer.Deserialize(r.GetString(7), WebhookJsonContext.Default.IReadOnlyDictionaryStringString) ?? new Dictionary<string, string>(),
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(8)),
        State = r.GetString(9) switch { "delivered" => WebhookDeliveryState.Delivered, "dead" => WebhookDeliveryState.Dead, _ => WebhookDeliveryState.Pending },
        Attempts = r.GetInt32(10),
        NextAttemptAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(11)),
        LastAttemptAt = r.IsDBNull(12) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(12)),
        LastStatusCode = r.IsDBNull(13) ? null : r.GetInt32(13),
        LastError = r.IsDBNull(14) ? null : r.GetString(14),
        FinishedAt = r.IsDBNull(15) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(15)),
    };

    private static string StateText(WebhookDeliveryState state) => state switch
    {
        WebhookDeliveryState.Delivered => "delivered",
        WebhookDeliveryState.Dead => "dead",
        _ => "pending",
    };

    private Task<int> WriteAsync(string sql, Action<NpgsqlParameterCollection> bind, CancellationToken cancellationToken) =>
        _database.ExecuteAsync(sql, bind, cancellationToken);

    private Task<List<T>> QueryAsync<T>(string sql, Action<NpgsqlParameterCollection> bind, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken) =>
        _database.QueryAsync(sql, bind, read, cancellationToken);
}
