using System.Data.Common;

namespace Reelay.Storage;

/// <summary>
/// One schema change. Migrations are append-only: a shipped migration is never edited; a change is the next version.
/// </summary>
/// <param name="Version">1, 2, 3... with no gaps.</param>
/// <param name="Name">A short description, recorded with the version.</param>
/// <param name="Sql">The statements to run; may hold several, separated by semicolons.</param>
internal sealed record Migration(int Version, string Name, string Sql);

/// <summary>
/// Brings a database's schema up to the latest of an ordered migration list and records each applied version in
/// <c>schema_migrations</c>. Plain ADO.NET, so every store shares it: the caller supplies a transaction that already
/// holds the database's write lock (SQLite: <c>BEGIN IMMEDIATE</c>; PostgreSQL: an advisory transaction lock), which
/// makes concurrent starters apply each migration exactly once.
/// </summary>
internal static class SchemaMigrations
{
    /// <summary>Valid in both SQLite and PostgreSQL.</summary>
    private const string CreateTableSql =
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

    /// <summary>
    /// Applies every pending migration in order and commits. All of them run in <paramref name="transaction"/>, so a
    /// failure leaves the schema as it was. Returns the schema version now in force.
    /// </summary>
    /// <exception cref="InvalidOperationException">The database was migrated by a newer build.</exception>
    public static async Task<int> ApplyAsync(
        DbTransaction transaction, IReadOnlyList<Migration> migrations, DateTimeOffset now, CancellationToken cancellationToken)
    {
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version != i + 1)
            {
                throw new ArgumentException($"Migration versions must run 1, 2, 3... without gaps; position {i + 1} holds version {migrations[i].Version}.", nameof(migrations));
            }
        }

        await ExecuteAsync(transaction, CreateTableSql, cancellationToken);
        var current = Convert.ToInt32(
            await ScalarAsync(transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", cancellationToken),
            System.Globalization.CultureInfo.InvariantCulture);
        if (current > migrations.Count)
        {
            throw new InvalidOperationException(
                $"The database schema is at version {current}, but this build of Reelay knows only up to version {migrations.Count}. Use a newer build.");
        }

        foreach (var migration in migrations.Skip(current))
        {
            await ExecuteAsync(transaction, migration.Sql, cancellationToken);
            await using var record = transaction.Connection!.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @applied_at)";
            AddParameter(record, "@version", migration.Version);
            AddParameter(record, "@name", migration.Name);
            AddParameter(record, "@applied_at", now.ToUnixTimeMilliseconds());
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return migrations.Count;
    }

    private static async Task ExecuteAsync(DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<object?> ScalarAsync(DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
