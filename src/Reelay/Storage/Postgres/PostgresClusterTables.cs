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

    /// <summary>Creates the tables when absent, one process at a time (CREATE ... IF NOT EXISTS is not safe against itself).</summary>
    public static async Task EnsureAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = PostgresMigrations.AdvisoryLockKey });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var command = new NpgsqlCommand(CreateSql, connection, transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The same, synchronously (for the secrets, read once when a key is first needed).</summary>
    public static void Ensure(NpgsqlDataSource dataSource)
    {
        using var connection = dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = PostgresMigrations.AdvisoryLockKey });
            command.ExecuteNonQuery();
        }

        using (var command = new NpgsqlCommand(CreateSql, connection, transaction))
        {
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }
}
