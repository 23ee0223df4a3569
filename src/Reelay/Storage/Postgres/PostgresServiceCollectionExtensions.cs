using Microsoft.Extensions.DependencyInjection;
using Reelay.Accounts;
using Reelay.Storage.Sql;
using Reelay.Webhooks;

namespace Reelay.Storage.Postgres;

/// <summary>Registers the PostgreSQL store behind the store interfaces; no other module sees the concrete types.</summary>
public static class PostgresServiceCollectionExtensions
{
    /// <summary>
    /// Adds the PostgreSQL database of <c>Reelay:Store:ConnectionString</c> (one <see cref="Npgsql.NpgsqlDataSource"/> for
    /// the process) as <see cref="IJobStore"/> and <see cref="IJobClaims"/> (behind the read cache when
    /// <c>Store:CacheCapacity</c> is above 0), <see cref="IAccountStore"/> and <see cref="IWebhookStore"/>. Several
    /// processes may share the database; the data folder's one-process lock is not taken for it.
    /// </summary>
    public static IServiceCollection AddReelayPostgresStore(this IServiceCollection services) =>
        services.AddSqlStore(
            (sp, options) => new PostgresJobStore(
                options.Store.ConnectionString ?? throw new InvalidOperationException("Reelay:Store:ConnectionString is required when Reelay:Store:Provider is postgres."),
                sp.GetRequiredService<TimeProvider>()),
            store => new PostgresWebhookStore(store));
}
