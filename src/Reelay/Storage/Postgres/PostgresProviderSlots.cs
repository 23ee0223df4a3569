using Npgsql;
using Reelay.Cluster;

namespace Reelay.Storage.Postgres;

/// <summary>
/// <see cref="IProviderSlots"/> in PostgreSQL: one row per job holding a slot (table <c>reelay_provider_slots</c>, created
/// on first use). Taking a slot counts the provider's rows and inserts under a per-provider transaction-scoped advisory
/// lock, so two nodes can never both take the last slot; the other operations are single statements.
/// </summary>
public sealed class PostgresProviderSlots : IProviderSlots, IAsyncDisposable
{
    private const string CreateSql =
        "CREATE TABLE IF NOT EXISTS reelay_provider_slots (job_id text PRIMARY KEY, provider text NOT NULL, acquired_at timestamptz NOT NULL DEFAULT now());"
        + "CREATE INDEX IF NOT EXISTS reelay_provider_slots_provider ON reelay_provider_slots (provider);";

    private const string AcquireSql =
        "INSERT INTO reelay_provider_slots (job_id, provider, acquired_at) "
        + "SELECT $1, $2, now() WHERE EXISTS (SELECT 1 FROM reelay_provider_slots WHERE job_id = $1 AND provider = $2) "
        + "OR (SELECT count(*) FROM reelay_provider_slots WHERE provider = $2) < $3 "
        + "ON CONFLICT (job_id) DO UPDATE SET provider = excluded.provider, acquired_at = excluded.acquired_at";

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresTablesOnFirstUse _tables;

    /// <summary>Uses the database of <paramref name="connectionString"/>.</summary>
    public PostgresProviderSlots(string connectionString)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _tables = new PostgresTablesOnFirstUse(_dataSource, CreateSql);
    }

    /// <inheritdoc />
    public bool IsShared => true;

    /// <inheritdoc />
    public async Task<bool> TryAcquireAsync(string provider, string jobId, int limit, CancellationToken cancellationToken)
    {
        await _tables.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", connection, transaction))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter { Value = "reelay.provider-slots." + provider });
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        int inserted;
        await using (var acquire = new NpgsqlCommand(AcquireSql, connection, transaction))
        {
            acquire.Parameters.Add(new NpgsqlParameter { Value = jobId });
            acquire.Parameters.Add(new NpgsqlParameter { Value = provider });
            acquire.Parameters.Add(new NpgsqlParameter { Value = (long)limit });
            inserted = await acquire.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return inserted == 1;
    }

    /// <inheritdoc />
    public async Task HoldAsync(string provider, string jobId, CancellationToken cancellationToken)
    {
        await _tables.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(
            "INSERT INTO reelay_provider_slots (job_id, provider, acquired_at) VALUES ($1, $2, now()) "
            + "ON CONFLICT (job_id) DO UPDATE SET provider = excluded.provider, acquired_at = excluded.acquired_at",
            cancellationToken, jobId, provider).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task ReleaseAsync(string provider, string jobId, CancellationToken cancellationToken)
    {
        await _tables.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync("DELETE FROM reelay_provider_slots WHERE job_id = $1 AND provider = $2", cancellationToken, jobId, provider).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ProviderSlot>> ListAsync(CancellationToken cancellationToken)
    {
        await _tables.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var command = _dataSource.CreateCommand("SELECT provider, job_id, acquired_at FROM reelay_provider_slots ORDER BY acquired_at");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var slots = new List<ProviderSlot>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            slots.Add(new ProviderSlot(reader.GetString(0), reader.GetString(1), new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero)));
        }

        return slots;
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken, params object[] values)
    {
        await using var command = _dataSource.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _tables.Dispose();
    }
}
