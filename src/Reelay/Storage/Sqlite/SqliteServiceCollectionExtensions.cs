using Microsoft.Extensions.DependencyInjection;
using Reelay.Accounts;
using Reelay.Storage.Sql;
using Reelay.Webhooks;

namespace Reelay.Storage.Sqlite;

/// <summary>Registers the embedded SQLite store behind the store interfaces; no other module sees the concrete types.</summary>
public static class SqliteServiceCollectionExtensions
{
    /// <summary>
    /// Adds the SQLite database of <c>Reelay:Store</c> (by default <c>reelay.db</c> in the data folder) as
    /// <see cref="IJobStore"/> (behind the read cache when <c>Store:CacheCapacity</c> is above 0), <see cref="IAccountStore"/>
    /// (keys, limits, money and idempotency live in the job database, so a job and its hold commit together) and
    /// <see cref="IWebhookStore"/> (the outbox, in the same database).
    /// </summary>
    public static IServiceCollection AddReelaySqliteStore(this IServiceCollection services) =>
        services.AddSqlStore(
            (sp, options) =>
            {
                sp.GetRequiredService<DataFolderLock>();
                var connection = options.Store.ConnectionString ?? SqliteJobStore.DefaultConnectionString(options.DataPath);
                return new SqliteJobStore(connection, sp.GetRequiredService<TimeProvider>());
            },
            store => new SqliteWebhookStore(store));
}
