using System.Data;
using System.Data.Common;
using System.Text;
using System.Text.Json;
using Reelay.Accounts;
using Reelay.Jobs;

namespace Reelay.Storage.Sql;

/// <summary>
/// Keys, charges and idempotency records, in the same database as the jobs, so a job and its hold commit together.
/// Every money change is a conditional UPDATE in a write transaction whose WHERE is the guard: SQLite runs one writer at
/// a time, and PostgreSQL locks the row and re-checks the condition against the latest committed version, so two writers
/// (threads or nodes) admitting, settling or releasing at once each see the other's result and a change happens once.
/// </summary>
public abstract partial class SqlJobStore : IAccountStore
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

    // The state guard is the WHERE: a second closer finds the state moved and changes nothing. The amount charged is
    // clamped to the hold in SQL (@charged is 0 unless the charge settles), and RETURNING hands back what moved.
    private const string CloseChargeSql = """
        UPDATE charges SET state = @state,
            charged_micros = CASE WHEN @charged < 0 THEN 0 WHEN @charged > hold_micros THEN hold_micros ELSE @charged END,
            produced_seconds = @seconds, reason = @reason, closed_at = @at
        WHERE job_id = @id AND state = @from
        RETURNING key_id, hold_micros, charged_micros
        """;

    // Portable aggregates: FILTER and CAST read the same on SQLite (3.30+) and PostgreSQL (where SUM of BIGINT is NUMERIC).
    private const string UsageSql = """
        SELECT c.key_id, k.name, c.model, COUNT(*),
               COUNT(*) FILTER (WHERE c.state = 'settled'),
               COALESCE(SUM(CASE WHEN c.state = 'settled' THEN c.produced_seconds ELSE 0 END), 0),
               CAST(COALESCE(SUM(c.charged_micros), 0) AS BIGINT),
               CAST(COALESCE(SUM(CASE WHEN c.state IN ('held', 'unresolved') THEN c.hold_micros ELSE 0 END), 0) AS BIGINT),
               COUNT(*) FILTER (WHERE c.state = 'unresolved')
        FROM charges c LEFT JOIN api_keys k ON k.id = c.key_id WHERE 1 = 1
        """;

    /// <inheritdoc />
    public async Task<Job> InsertAsync(Job job, JobAdmission admission, CancellationToken cancellationToken)
    {
        CheckNew(job);
        ArgumentNullException.ThrowIfNull(admission);
        if (admission.HoldMicros < 0)
        {
            throw new ArgumentException("A hold cannot be negative.", nameof(admission));
        }

        return await InWriteTransactionAsync(async (connection, transaction) =>
        {
            if (admission.IdempotencyKey is { } idempotencyKey)
            {
                var inserted = await SqlCommands.ExecuteAsync(connection, transaction,
                    "INSERT INTO idempotency_keys (owner, key, fingerprint, job_id, created_at) VALUES (@owner, @key, @fingerprint, @job, @at) ON CONFLICT (owner, key) DO NOTHING",
                    c => c.Bind("@owner", job.Owner).Bind("@key", idempotencyKey).Bind("@fingerprint", admission.Fingerprint ?? "")
                        .Bind("@job", job.Id).Bind("@at", job.CreatedAt.Millis()),
                    cancellationToken);
                if (inserted == 0)
                {
                    var existing = await ReadIdempotencyAsync(connection, transaction, job.Owner, idempotencyKey, cancellationToken);
                    throw new IdempotencyKeyUsedException(existing!);
                }
            }

            var admitted = await SqlCommands.ExecuteAsync(connection, transaction, AdmitSql,
                c => c.Bind("@hold", admission.HoldMicros).Bind("@key", admission.KeyId).Bind("@now", job.CreatedAt.Millis()),
                cancellationToken);
            if (admitted == 0)
            {
                var key = await ReadKeyAsync(connection, transaction, admission.KeyId, cancellationToken);
                var reason = key is null || !key.IsActive(job.CreatedAt) ? AdmissionRefusal.KeyInactive
                    : key.MaxJobsInFlight is { } max && key.JobsInFlight >= max ? AdmissionRefusal.InFlight
                    : AdmissionRefusal.Budget;
                throw new AdmissionRefusedException(reason, key);
            }

            // A charge for this job id exists only when the job does; then the job insert below reports the duplicate.
            await SqlCommands.ExecuteAsync(connection, transaction,
                $"INSERT INTO charges ({ChargeColumns}) VALUES (@job, @key, @model, @tier, @price, @seconds, @hold, 'held', 0, 0, NULL, @at, NULL) ON CONFLICT (job_id) DO NOTHING",
                c => c.Bind("@job", job.Id).Bind("@key", admission.KeyId).Bind("@model", job.Model).Bind("@tier", admission.Tier)
                    .Bind("@price", admission.PricePerSecondMicros).Bind("@seconds", job.DurationSeconds).Bind("@hold", admission.HoldMicros)
                    .Bind("@at", job.CreatedAt.Millis()),
                cancellationToken);

            if (await InsertJobAsync(connection, transaction, job, cancellationToken) == 0)
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
        await InWriteTransactionAsync((connection, transaction) => SqlCommands.ExecuteAsync(connection, transaction,
            $"INSERT INTO api_keys ({KeyColumns}, key_hash) VALUES (@id, @name, @scope, @prefix, @created, @expires, @revoked, @models, @rate, @inflight_max, @budget, 0, 0, 0, @hash)",
            c => c.Bind("@id", key.Id)
                .Bind("@name", key.Name)
                .Bind("@scope", key.Scope == ApiKeyScope.Admin ? "admin" : "client")
                .Bind("@prefix", key.Prefix)
                .Bind("@created", key.CreatedAt.Millis())
                .Bind("@expires", key.ExpiresAt.Millis())
                .Bind("@revoked", key.RevokedAt.Millis())
                .Bind("@models", WriteModels(key.AllowedModels))
                .Bind("@rate", key.SubmitsPerMinute)
                .Bind("@inflight_max", key.MaxJobsInFlight)
                .Bind("@budget", key.BudgetMicros)
                .Bind("@hash", secretHash),
            cancellationToken), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<ApiKeyRecord?> FindKeyByHashAsync(string secretHash, CancellationToken cancellationToken) =>
        FirstOrNull(await QueryAsync($"SELECT {KeyColumns} FROM api_keys WHERE key_hash = @hash", c => c.Bind("@hash", secretHash), ReadKey, cancellationToken));

    /// <inheritdoc />
    public async Task<ApiKeyRecord?> GetKeyAsync(string id, CancellationToken cancellationToken) =>
        FirstOrNull(await QueryAsync($"SELECT {KeyColumns} FROM api_keys WHERE id = @id", c => c.Bind("@id", id), ReadKey, cancellationToken));

    /// <inheritdoc />
    public async Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(CancellationToken cancellationToken) =>
        await QueryAsync($"SELECT {KeyColumns} FROM api_keys ORDER BY created_at, id", SqlCommands.None, ReadKey, cancellationToken);

    /// <inheritdoc />
    public async Task<ApiKeyRecord?> UpdateKeyAsync(string id, ApiKeyChanges changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var sets = new List<string>();
        var values = new List<(string Name, object? Value)>();
        void Set<T>(string column, Optional<T> change, Func<T, object?> convert)
        {
            if (change.HasValue)
            {
                sets.Add($"{column} = @{column}");
                values.Add(("@" + column, convert(change.Value)));
            }
        }

        if (changes.Name is { } name)
        {
            sets.Add("name = @name");
            values.Add(("@name", name));
        }

        Set("expires_at", changes.ExpiresAt, v => v.Millis());
        Set("allowed_models", changes.AllowedModels, WriteModels);
        Set("submits_per_minute", changes.SubmitsPerMinute, v => v);
        Set("max_in_flight", changes.MaxJobsInFlight, v => v);
        Set("budget_micros", changes.BudgetMicros, v => v);
        return await InWriteTransactionAsync(async (connection, transaction) =>
        {
            if (sets.Count > 0)
            {
                await SqlCommands.ExecuteAsync(connection, transaction, $"UPDATE api_keys SET {string.Join(", ", sets)} WHERE id = @id", c =>
                {
                    c.Bind("@id", id);
                    foreach (var (n, v) in values)
                    {
                        c.Bind(n, v);
                    }
                }, cancellationToken);
            }

            return await ReadKeyAsync(connection, transaction, id, cancellationToken);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<ApiKeyRecord?> RevokeKeyAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) =>
        await InWriteTransactionAsync(async (connection, transaction) =>
        {
            await SqlCommands.ExecuteAsync(connection, transaction, "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, @at) WHERE id = @id",
                c => c.Bind("@id", id).Bind("@at", at.Millis()), cancellationToken);
            return await ReadKeyAsync(connection, transaction, id, cancellationToken);
        }, cancellationToken);

    /// <inheritdoc />
    public async Task<ChargeRecord?> GetChargeAsync(string jobId, CancellationToken cancellationToken) =>
        FirstOrNull(await QueryAsync($"SELECT {ChargeColumns} FROM charges WHERE job_id = @id", c => c.Bind("@id", jobId), ReadCharge, cancellationToken));

    /// <inheritdoc />
    public async Task<IReadOnlyList<ChargeRecord>> ListChargesAsync(ChargeQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var filter = new SqlFilter($"SELECT {ChargeColumns} FROM charges WHERE 1 = 1")
            .And("key_id = @key", "@key", query.KeyId)
            .And("state = @state", "@state", query.State?.ToWire());
        var take = Math.Clamp(query.Limit, 1, 1000);
        return await QueryAsync(filter.Sql("ORDER BY created_at DESC, job_id LIMIT @take"), c =>
        {
            filter.Bind(c);
            c.Bind("@take", take);
        }, ReadCharge, cancellationToken);
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
    public async Task<IReadOnlyList<string>> ListHeldChargesOfFinishedJobsAsync(int limit, CancellationToken cancellationToken) =>
        await QueryAsync("""
            SELECT c.job_id FROM charges c LEFT JOIN jobs j ON j.id = c.job_id
            WHERE c.state = 'held' AND (j.id IS NULL OR j.status IN ('succeeded', 'failed', 'cancelled'))
            ORDER BY c.created_at LIMIT @take
            """, c => c.Bind("@take", limit), r => r.GetString(0), cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<UsageRow>> UsageAsync(UsageQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var filter = new SqlFilter(UsageSql)
            .And("c.key_id = @key", "@key", query.KeyId)
            .And("c.created_at >= @since", "@since", query.Since.Millis())
            .And("c.created_at < @until", "@until", query.Until.Millis());
        return await QueryAsync(filter.Sql("GROUP BY c.key_id, k.name, c.model ORDER BY c.key_id, c.model"), filter.Bind, r => new UsageRow
        {
            KeyId = r.GetString(0),
            KeyName = r.Text(1),
            Model = r.GetString(2),
            Jobs = r.GetInt64(3),
            Succeeded = r.GetInt64(4),
            Seconds = r.GetDouble(5),
            SpentMicros = r.GetInt64(6),
            HeldMicros = r.GetInt64(7),
            Unresolved = r.GetInt64(8),
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IdempotencyRecord?> FindIdempotencyAsync(string owner, string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await ReadIdempotencyAsync(connection, null, owner, key, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<int> PurgeIdempotencyAsync(DateTimeOffset before, CancellationToken cancellationToken) =>
        await InWriteTransactionAsync((connection, transaction) => SqlCommands.ExecuteAsync(connection, transaction,
            "DELETE FROM idempotency_keys WHERE created_at < @before", c => c.Bind("@before", before.Millis()), cancellationToken),
            cancellationToken);

    private async Task<bool> MoveChargeAsync(string jobId, ChargeState from, ChargeClosure closure, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(closure);
        if (closure.State == ChargeState.Held || closure.State == from)
        {
            throw new ArgumentException($"A {from.ToWire()} charge cannot move to {closure.State.ToWire()}.", nameof(closure));
        }

        var settles = closure.State == ChargeState.Settled;
        return await InWriteTransactionAsync(async (connection, transaction) =>
        {
            var closed = await SqlCommands.QueryAsync(connection, transaction, CloseChargeSql,
                c => c.Bind("@state", closure.State.ToWire())
                    .Bind("@charged", settles ? closure.ChargedMicros : 0L)
                    .Bind("@seconds", settles ? closure.ProducedSeconds : 0.0)
                    .Bind("@reason", closure.Reason)
                    .Bind("@at", at.Millis())
                    .Bind("@id", jobId)
                    .Bind("@from", from.ToWire()),
                r => (KeyId: r.GetString(0), Hold: r.GetInt64(1), Charged: r.GetInt64(2)),
                cancellationToken);
            if (closed.Count == 0)
            {
                return false;
            }

            // Leaving "held" frees the in-flight slot; leaving the hold (settled or released) moves its money.
            var charge = closed[0];
            await SqlCommands.ExecuteAsync(connection, transaction,
                "UPDATE api_keys SET in_flight = in_flight - @slot, held_micros = held_micros - @hold, spent_micros = spent_micros + @charged WHERE id = @key",
                c => c.Bind("@slot", from == ChargeState.Held ? 1 : 0)
                    .Bind("@hold", closure.State == ChargeState.Unresolved ? 0 : charge.Hold)
                    .Bind("@charged", charge.Charged)
                    .Bind("@key", charge.KeyId),
                cancellationToken);
            return true;
        }, cancellationToken);
    }

    private static T? FirstOrNull<T>(List<T> rows) where T : class => rows.Count == 0 ? null : rows[0];

    private static string? WriteModels(IReadOnlyList<string>? models) =>
        models is null ? null : JsonSerializer.Serialize(models, AccountsJsonContext.Default.IReadOnlyListString);

    private static async Task<ApiKeyRecord?> ReadKeyAsync(DbConnection connection, DbTransaction transaction, string id, CancellationToken cancellationToken) =>
        FirstOrNull(await SqlCommands.QueryAsync(connection, transaction, $"SELECT {KeyColumns} FROM api_keys WHERE id = @id", c => c.Bind("@id", id), ReadKey, cancellationToken));

    private static ApiKeyRecord ReadKey(DbDataReader r) => new()
    {
        Id = r.GetString(0),
        Name = r.GetString(1),
        Scope = r.GetString(2) == "admin" ? ApiKeyScope.Admin : ApiKeyScope.Client,
        Prefix = r.Text(3),
        CreatedAt = r.Time(4),
        ExpiresAt = r.OptionalTime(5),
        RevokedAt = r.OptionalTime(6),
        AllowedModels = r.Text(7) is { } models ? JsonSerializer.Deserialize(models, AccountsJsonContext.Default.IReadOnlyListString) : null,
        SubmitsPerMinute = r.OptionalInt32(8),
        MaxJobsInFlight = r.OptionalInt32(9),
        BudgetMicros = r.OptionalInt64(10),
        HeldMicros = r.GetInt64(11),
        SpentMicros = r.GetInt64(12),
        JobsInFlight = r.GetInt32(13),
    };

    private static ChargeRecord ReadCharge(DbDataReader r) => new()
    {
        JobId = r.GetString(0),
        KeyId = r.GetString(1),
        Model = r.GetString(2),
        Tier = r.GetString(3),
        PricePerSecondMicros = r.GetInt64(4),
        RequestedSeconds = r.GetInt32(5),
        HoldMicros = r.GetInt64(6),
        State = ChargeStateExtensions.ParseWire(r.GetString(7)) ?? ChargeState.Held,
        ChargedMicros = r.GetInt64(8),
        ProducedSeconds = r.GetDouble(9),
        Reason = r.Text(10),
        CreatedAt = r.Time(11),
        ClosedAt = r.OptionalTime(12),
    };

    private static async Task<IdempotencyRecord?> ReadIdempotencyAsync(DbConnection connection, DbTransaction? transaction, string owner, string key, CancellationToken cancellationToken) =>
        FirstOrNull(await SqlCommands.QueryAsync(connection, transaction,
            "SELECT job_id, fingerprint, created_at FROM idempotency_keys WHERE owner = @owner AND key = @key",
            c => c.Bind("@owner", owner).Bind("@key", key),
            r => new IdempotencyRecord(r.GetString(0), r.GetString(1), r.Time(2)), cancellationToken));
}
