using Reelay.Storage.Sql;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// The webhook outbox in the job store's SQLite database (tables from migration 2: webhook_deliveries, webhook_attempts,
/// webhook_secrets). The schema is created by the job store's <c>InitializeAsync</c>. Thread-safe. One process owns the
/// file, so every write simply queues at the job store's write gate; the logic is <see cref="SqlWebhookStore"/>'s.
/// </summary>
public sealed class SqliteWebhookStore : SqlWebhookStore
{
    /// <summary>Creates the store over the job database, sharing its connections and its write gate.</summary>
    public SqliteWebhookStore(SqliteJobStore database)
        : base(database)
    {
    }
}
