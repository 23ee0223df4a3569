using System.Text;
using System.Text.Json;
using Npgsql;
using Reelay.Accounts;
using Reelay.Jobs;

namespace Reelay.Storage.Postgres;

/// <summary>
/// Keys, charges and idempotency records, in the same database as the jobs. Every money change is a conditional UPDATE in a
/// transaction: PostgreSQL locks the row and re-checks the condition against the latest committed version, so two nodes
/// admitting, settling or releasing at once each see the other's result and a change happens exactly once.
/// </summary>
public sealed partial class PostgresJobStore : IAccountStore
{
    private const string KeyColumns =
        "id, name, scope, key_prefix, created_at, expires_at, revoked_at, allowed_models, submits_per_minute, max_in_flight, budget_micros, held_micros, spent_micros, in_flight";

    private const string ChargeColumns =
        "job_id, key_id, model, tier, price_per_second_micros, requested_seconds, hold_micros, state, charged_micros, produced_seconds, reason, created_at, closed_at";

    // The hold and the in-flight slot are taken only while the key is active and its limits allow them.
    private const string AdmitSql = """
        UPDATE api_keys SET held_micros = held_micros + @hold, in_flight = in_flight + 1
        WHERE id = @key AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)
          AND (budget_micros IS NULL OR budget_micros - spent_micros - held_micros >= @hold)
          AND (max_in_flight IS NULL OR in_flight < max_in_flight)
        """;

    /// <inheritdoc />
    public async Task<Job> InsertAsync(Job job, JobAdmission admission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(admission);
        if (job.Version != 0)
        {
            throw new ArgumentException($"A new job's version must be 0, not {job.Version}; the store assigns versions.", nameof(job));
        }

        if (admission.HoldMicros < 0)
        {
            throw new ArgumentException("A hold cannot be negative.", nameof(admission));
        }

        return await InTransactionAsync(async (connection, transaction) =>
        {
            if (admission.IdempotencyKey is { } idempotencyKey)
            {
                var inserted = await ExecuteAsync(connection, transaction,
                    "INSERT INTO idempotency_keys (owner, key, fingerprint, job_id, created_at) VALUES (@owner, @key, @fingerprint, @job, @at) ON CONFLICT (owner, key) DO NOTHING",
                    p =>
                    {
                        p.AddWithValue("@owner", job.Owner);
                        p.AddWithValue("@key", idempotencyKey);
                        p.AddWithValue("@fingerprint", admission.Fingerprint ?? "");
                        p.AddWithValue("@job", job.Id);
                        p.AddWithValue("@at", job.CreatedAt.ToUnixTimeMilliseconds());
                    },
                    cancellationToken);
                if (inserted == 0)
                {
                    var existing = await ReadIdempotencyAsync(connection, transaction, job.Owner, idempotencyKey, cancellationToken);
                    throw new IdempotencyKeyUsedException(existing!);
                }
            }

            var admitted = await ExecuteAsync(connection, transaction, AdmitSql, p =>
            {
                p.AddWithValue("@hold", admission.HoldMicros);
                p.AddWithValue("@key", admission.KeyId);
                p.AddWithValue("@now", job.CreatedAt.ToUnixTimeMilliseconds());
            }, cancellationToken);
            if (admitted == 0)
            {
                var key = await ReadKeyAsync(connection, transaction, "WHERE id = @id", p => p.AddWithValue("@id", admission.KeyId), cancellationToken);
                var reason = key is null || !key.IsActive(job.CreatedAt) ? AdmissionRefusal.KeyInactive
                    : key.MaxJobsInFlight is { } max && key.JobsInFlight >= max ? AdmissionRefusal.InFlight
                    : AdmissionRefusal.Budget;
                throw new AdmissionRefusedException(reason, key);
            }

            await ExecuteAsync(connection, transaction,
                $"INSERT INTO charges ({ChargeColumns}) VALUES (@job, @key, @model, @tier, @price, @seconds, @hold, 'held', 0, 0, NULL, @at, NULL) ON CONFLICT (job_id) DO NOTHING",
                p =>
                {
                    p.AddWithValue("@job", job.Id);
                    p.AddWithValue("@key", admission.KeyId);
                    p.AddWithValue("@model", job.Model);
                    p.AddWithValue("@tier", admission.Tier);
                    p.AddWithValue("@price", admission.PricePerSecondMicros);
                    p.AddWithValue("@seconds", job.DurationSeconds);
                    p.AddWithValue("@hold", admission.HoldMicros);
                    p.AddWithValue("@at", job.CreatedAt.ToUnixTimeMilliseconds());
                },
                cancellationToken);

            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = InsertSql;
            Bind(insert.Parameters, job);
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                throw new DuplicateJobException(job.Id);
            }

            return AsStored(job, 1);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task CreateKeyAsync(ApiKeyRecord key, string secretHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(secretHash);
        await InTransactionAsync(async (connection, transaction) =>
        {
            await ExecuteAsync(connection, transaction,
                $"INSERT INTO api_keys ({KeyColumns}, key_hash) VALUES (@id, @name, @scope, @prefix, @created, @expires, @revoked, @models, @rate, @inflight_max, @budget, 0, 0, 0, @hash)",
                p =>
                {
                    p.AddWithValue("@id", key.Id);
                    p.AddWithValue("@name", key.Name);
                    p.AddWithValue("@scope", key.Scope == ApiKeyScope.Admin ? "admin" : "client");
                    p.AddWithValue("@prefix", Db(key.Prefix));
                    p.AddWithValue("@created", key.CreatedAt.ToUnixTimeMilliseconds());
                    p.AddWithValue("@expires", Db(key.ExpiresAt?.ToUnixTimeMilliseconds()));
                    p.AddWithValue("@revoked", Db(key.RevokedAt?.ToUnixTimeMilliseconds()));
                    p.AddWithValue("@models", Db(key.AllowedModels is null ? null : JsonSerializer.Serialize(key.AllowedModels, AccountsJsonContext.Default.IReadOnlyListString)));
                    p.AddWithValue("@rate", Db(key.SubmitsPerMinute));
                    p.AddWithValue("@inflight_max", Db(key.MaxJobsInFlight));
                    p.AddWithValue("@budget", Db(key.BudgetMicros));
                    p.AddWithValue("@hash", secretHash);
                },
                cancellationToken);
            return 0;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<ApiKeyRecord?> FindKeyByHashAsync(string secretHash, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ReadKeyAsync(connection, null, "WHERE key_hash = @hash", p => p.AddWithValue("@hash", secretHash), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<ApiKeyRecord?> GetKeyAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ReadKeyAsync(connection, null, "WHERE id = @id", p => p.AddWithValue("@id", id), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {KeyColumns} FROM api_keys ORDER BY created_at, id";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var keys = new List<ApiKeyRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(ReadKey(reader));
        }

        return keys;
    }

    /// <inheritdoc />
    public async Task<ApiKeyRecord?> UpdateKeyAsync(string id, ApiKeyChanges changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        return await InTransactionAsync(async (connection, transaction) =>
        {
            var sets = new List<string>();
            var values = new List<(string Name, object Value)>();
            void Set<T>(string column, Optional<T> change, Func<T, object?> convert)
            {
                if (change.HasValue)
                {
                    sets.Add($"{column} = @{column}");
                    values.Add(("@" + column, convert(change.Value) ?? DBNull.Value));
                }
            }

            if (changes.Name is { } name)
            {
                sets.Add("name = @name");
                values.Add(("@name", name));
            }

            Set("expires_at", changes.ExpiresAt, v => v?.ToUnixTimeMilliseconds());
            Set("allowed_models", changes.AllowedModels, v => v is null ? null : JsonSerializer.Serialize(v, AccountsJsonContext.Default.IReadOnlyListString));
            Set("submits_per_minute", changes.SubmitsPerMinute, v => v);
            Set("max_in_flight", changes.MaxJobsInFlight, v => v);
            Set("budget_micros", changes.BudgetMicros, v => v);
            if (sets.Count > 0)
            {
                await ExecuteAsync(connection, transaction, $"UPDATE api_keys SET {string.Join(", ", sets)} WHERE id = @id", p =>
                {
                    p.AddWithValue("@id", id);
                    foreach (var (n, v) in values)
                    {
                        p.AddWithValue(n, v);
                    }
                }, cancellationToken);
            }

            return await ReadKeyAsync(connection, transaction, "WHERE id = @id", p => p.AddWithValue("@id", id), cancellationToken);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<ApiKeyRecord?> RevokeKeyAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) =>
        await InTransactionAsync(async (connection, transaction) =>
        {
            await ExecuteAsync(connection, transaction, "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, @at) WHERE id = @id", p =>
            {
                p.AddWithValue("@id", id);
                p.AddWithValue("@at", at.ToUnixTimeMilliseconds());
            }, cancellationToken);
            return await ReadKeyAsync(connection, transaction, "WHERE id = @id", p => p.AddWithValue("@id", id), cancellationToken);
        }, cancellationToken);

    /// <inheritdoc />
    public async Task<ChargeRecord?> GetChargeAsync(string jobId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var charges = await ReadChargesAsync(connection, null, "WHERE job_id = @id", p => p.AddWithValue("@id", jobId), cancellationToken);
        return charges.Count == 0 ? null : charges[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ChargeRecord>> ListChargesAsync(ChargeQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var where = new StringBuilder("WHERE 1 = 1");
        if (query.KeyId is not null)
        {
            where.Append(" AND key_id = @key");
        }

        if (query.State is not null)
        {
            where.Append(" AND state = @state");
        }

        where.Append(" ORDER BY created_at DESC, job_id LIMIT @take");
        await using var connection = await OpenAsync(cancellationToken);
        return await ReadChargesAsync(connection, null, where.ToString(), p =>
        {
            if (query.KeyId is not null)
            {
                p.AddWithValue("@key", query.KeyId);
            }

            if (query.State is { } state)
            {
                p.AddWithValue("@state", state.ToWire());
            }

            p.AddWithValue("@take", Math.Clamp(query.Limit, 1, 1000));
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> CloseChargeAsync(string jobId, ChargeClosure closure, DateTimeOffset at, CancellationToken cancellationToken) =>
        MoveChargeAsync(jobId, ChargeState.Held, closure, at, cancellationToken);

    /// <inheritdoc />
    public Task<bool> ResolveChargeAsync(string jobId, ChargeClosure closure, DateTimeOffset at, CancellationToken cancellationToken) =>
        closure.State is ChargeState.Settled or ChargeState.Released
            ? MoveChargeAsync(jobId, ChargeState.Unresolved, closure, at, cancellationToken)
            : throw new ArgumentException("An unresolved charge is resolved by settling or releasing it.", nameof(closure));

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListHeldChargesOfFinishedJobsAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT c.job_id FROM charges c LEFT JOIN jobs j ON j.id = c.job_id
            WHERE c.state = 'held' AND (j.id IS NULL OR j.status IN ('succeeded', 'failed', 'cancelled'))
            ORDER BY c.created_at LIMIT @take
            """;
        command.Parameters.AddWithValue("@take", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ids = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<UsageRow>> UsageAsync(UsageQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var sql = new StringBuilder("""
            SELECT c.key_id, k.name, c.model, COUNT(*),
                   COUNT(*) FILTER (WHERE c.state = 'settled'),
                   COALESCE(SUM(CASE WHEN c.state = 'settled' THEN c.produced_seconds ELSE 0 END), 0),
                   COALESCE(SUM(c.charged_micros), 0)::bigint,
                   COALESCE(SUM(CASE WHEN c.state IN ('held', 'unresolved') THEN c.hold_micros ELSE 0 END), 0)::bigint,
                   COUNT(*) FILTER (WHERE c.state = 'unresolved')
            FROM charges c LEFT JOIN api_keys k ON k.id = c.key_id WHERE 1 = 1
            """);
        if (query.KeyId is not null)
        {
            sql.Append(" AND c.key_id = @key");
        }

        if (query.Since is not null)
        {
            sql.Append(" AND c.created_at >= @since");
        }

        if (query.Until is not null)
        {
            sql.Append(" AND c.created_at < @until");
        }

        sql.Append(" GROUP BY c.key_id, k.name, c.model ORDER BY c.key_id, c.model");
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql.ToString();
        if (query.KeyId is not null)
        {
            command.Parameters.AddWithValue("@key", query.KeyId);
        }

        if (query.Since is { } since)
        {
            command.Parameters.AddWithValue("@since", since.ToUnixTimeMilliseconds());
        }

        if (query.Until is { } until)
        {
            command.Parameters.AddWithValue("@until", until.ToUnixTimeMilliseconds());
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<UsageRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new UsageRow
            {
                KeyId = reader.GetString(0),
                KeyName = reader.IsDBNull(1) ? null : reader.GetString(1),
                Model = reader.GetString(2),
                Jobs = reader.GetInt64(3),
                Succeeded = reader.GetInt64(4),
                Seconds = reader.GetDouble(5),
                SpentMicros = reader.GetInt64(6),
                HeldMicros = reader.GetInt64(7),
                Unresolved = reader.GetInt64(8),
            });
        }

        return rows;
    }

    /// <inheritdoc />
    public async Task<IdempotencyRecord?> FindIdempotencyAsync(string owner, string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ReadIdempotencyAsync(connection, null, owner, key, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<int> PurgeIdempotencyAsync(DateTimeOffset before, CancellationToken cancellationToken) =>
        await InTransactionAsync((connection, transaction) => ExecuteAsync(connection, transaction,
            "DELETE FROM idempotency_keys WHERE created_at < @before", p => p.AddWithValue("@before", before.ToUnixTimeMilliseconds()), cancellationToken),
            cancellationToken);

    private async Task<bool> MoveChargeAsync(string jobId, ChargeState from, ChargeClosure closure, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(closure);
        if (closure.State == ChargeState.Held || closure.State == from)
        {
            throw new ArgumentException($"A {from.ToWire()} charge cannot move to {closure.State.ToWire()}.", nameof(closure));
        }

        return await InTransactionAsync(async (connection, transaction) =>
        {
            // The state guard is the WHERE: a second closer blocks on the row lock, then finds the state moved and changes nothing.
            var closed = await QueryAsync(connection, transaction, """
                UPDATE charges SET state = @state,
                    charged_micros = CASE WHEN @settled THEN LEAST(GREATEST(@charged, 0), hold_micros) ELSE 0 END,
                    produced_seconds = @seconds, reason = @reason, closed_at = @at
                WHERE job_id = @id AND state = @from
                RETURNING key_id, hold_micros, charged_micros
                """,
                p =>
                {
                    p.AddWithValue("@state", closure.State.ToWire());
                    p.AddWithValue("@settled", closure.State == ChargeState.Settled);
                    p.AddWithValue("@charged", closure.ChargedMicros);
                    p.AddWithValue("@seconds", closure.State == ChargeState.Settled ? closure.ProducedSeconds : 0.0);
                    p.AddWithValue("@reason", closure.Reason);
                    p.AddWithValue("@at", at.ToUnixTimeMilliseconds());
                    p.AddWithValue("@id", jobId);
                    p.AddWithValue("@from", from.ToWire());
                },
                r => (KeyId: r.GetString(0), Hold: r.GetInt64(1), Charged: r.GetInt64(2)),
                cancellationToken);
            if (closed.Count == 0)
            {
                return false;
            }

            var charge = closed[0];

            // Leaving "held" frees the in-flight slot; leaving the hold (settled or released) moves its money.
            var freesSlot = from == ChargeState.Held ? 1 : 0;
            var freesHold = closure.State == ChargeState.Unresolved ? 0 : charge.Hold;
            await ExecuteAsync(connection, transaction,
                "UPDATE api_keys SET in_flight = in_flight - @slot, held_micros = held_micros - @hold, spent_micros = spent_micros + @charged WHERE id = @key",
                p =>
                {
                    p.AddWithValue("@slot", freesSlot);
                    p.AddWithValue("@hold", freesHold);
                    p.AddWithValue("@charged", charge.Charged);
                    p.AddWithValue("@key", charge.KeyId);
                },
                cancellationToken);
            return true;
        }, cancellationToken);
    }

    private static async Task<ApiKeyRecord?> ReadKeyAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string where, Action<NpgsqlParameterCollection> bind, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {KeyColumns} FROM api_keys {where}";
        bind(command.Parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadKey(reader) : null;
    }

    private static ApiKeyRecord ReadKey(NpgsqlDataReader r) => new()
    {
        Id = r.GetString(0),
        Name = r.GetString(1),
        Scope = r.GetString(2) == "admin" ? ApiKeyScope.Admin : ApiKeyScope.Client,
        Prefix = Text(r, 3),
        CreatedAt = Time(r.GetInt64(4)),
        ExpiresAt = OptionalTime(r, 5),
        RevokedAt = OptionalTime(r, 6),
        AllowedModels = Text(r, 7) is { } models ? JsonSerializer.Deserialize(models, AccountsJsonContext.Default.IReadOnlyListString) : null,
        SubmitsPerMinute = r.IsDBNull(8) ? null : r.GetInt32(8),
        MaxJobsInFlight = r.IsDBNull(9) ? null : r.GetInt32(9),
        BudgetMicros = r.IsDBNull(10) ? null : r.GetInt64(10),
        HeldMicros = r.GetInt64(11),
        SpentMicros = r.GetInt64(12),
        JobsInFlight = r.GetInt32(13),
    };

    private static async Task<List<ChargeRecord>> ReadChargesAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string where, Action<NpgsqlParameterCollection> bind, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {ChargeColumns} FROM charges {where}";
        bind(command.Parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var charges = new List<ChargeRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            charges.Add(new ChargeRecord
            {
                JobId = reader.GetString(0),
                KeyId = reader.GetString(1),
                Model = reader.GetString(2),
                Tier = reader.GetString(3),
                PricePerSecondMicros = reader.GetInt64(4),
                RequestedSeconds = reader.GetInt32(5),
                HoldMicros = reader.GetInt64(6),
                State = ChargeStateExtensions.ParseWire(reader.GetString(7)) ?? ChargeState.Held,
                ChargedMicros = reader.GetInt64(8),
                ProducedSeconds = reader.GetDouble(9),
                Reason = Text(reader, 10),
                CreatedAt = Time(reader.GetInt64(11)),
                ClosedAt = OptionalTime(reader, 12),
            });
        }

        return charges;
    }

    private static async Task<IdempotencyRecord?> ReadIdempotencyAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string owner, string key, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT job_id, fingerprint, created_at FROM idempotency_keys WHERE owner = @owner AND key = @key";
        command.Parameters.AddWithValue("@owner", owner);
        command.Parameters.AddWithValue("@key", key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new IdempotencyRecord(reader.GetString(0), reader.GetString(1), Time(reader.GetInt64(2))) : null;
    }
}
