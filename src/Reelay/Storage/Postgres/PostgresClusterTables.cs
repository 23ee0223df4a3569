using Npgsql;

namespace Reelay.Storage.Postgres;

/// <summary>
/// The tables of the cluster-wide limits and shared secrets (<see cref="PostgresClusterLimits"/>,
/// <see cref="PostgresSharedSecrets"/>). They are schema migration 2, and are also
/// created on first use (if absent, under the migration lock), since a limiter or a key may be needed before the store's
/// migrations ran in this process.
/// </summary>
internal static class PostgresClusterTables
{
    public const string CreateSql = """
        CREATE TABLE IF NOT EXISTS reelay_secrets (
            name TEXT PRIMARY KEY,
            value BYTEA NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE IF NOT EXISTS reelay_rate_buckets (
            name TEXT PRIMARY KEY,
            tokens DOUBLE PRECISION NOT NULL,
            refilled_at TIMESTAMPTZ NOT NULL,
            taken INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS reelay_rate_nodes (
            bucket TEXT NOT NULL,
            node_id TEXT NOT NULL,
            seen_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (bucket, node_id)
        );
        CREATE TABLE IF NOT EXISTS reelay_submit_counts (
            key_id TEXT NOT NULL,
            segment BIGINT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (key_id, segment)
        );
        """;

    /// <summary>Creates the tables when absent (synchronously: for the secrets, read once when a key is first needed).</summary>
    public static void Ensure(NpgsqlDataSource dataSource) => PostgresTablesOnFirstUse.Create(dataSource, CreateSql);
}

/// <summary>
/// Tables a component creates on its first use (when absent), once per process and one process at a time: several
/// nodes may start together, and <c>CREATE ... IF NOT EXISTS</c> is not safe against itself, so the statements run
/// under the migrations' advisory lock (which also orders them with <c>reelay migrate</c>).
/// </summary>
internal sealed class PostgresTablesOnFirstUse(NpgsqlDataSource dataSource, string createSql) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _ready;

    /// <summary>Creates the tables unless this instance already did.</summary>
    public async ValueTask EnsureAsync(CancellationToken cancellationToken)
    {
        if (_ready)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_ready)
            {
                await CreateAsync(dataSource, createSql, cancellationToken).ConfigureAwait(false);
                _ready = true;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs <paramref name="sql"/> in one transaction under the migrations' advisory lock.</summary>
    public static async Task CreateAsync(NpgsqlDataSource dataSource, string sql, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = LockCommand(connection, transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var command = new NpgsqlCommand(sql, connection, transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The same, synchronously.</summary>
    public static void Create(NpgsqlDataSource dataSource, string sql)
    {
        using var connection = dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using (var command = LockCommand(connection, transaction))
        {
            command.ExecuteNonQuery();
        }

        using (var command = new NpgsqlCommand(sql, connection, transaction))
        {
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <inheritdoc />
    public void Dispose() => _gate.Dispose();

    private static NpgsqlCommand LockCommand(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = PostgresMigrations.AdvisoryLockKey });
        return command;
    }
}
