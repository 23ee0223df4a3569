using Microsoft.Extensions.DependencyInjection;
using Reelay.Accounts;
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
    public static IServiceCollection AddReelayPostgresStore(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            return new PostgresJobStore(
                options.Store.ConnectionString ?? throw new InvalidOperationException("Reelay:Store:ConnectionString is required when Reelay:Store:Provider is postgres."),
                sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<IJobStore>(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            IJobStore store = sp.GetRequiredService<PostgresJobStore>();
            return options.Store.CacheCapacity > 0 ? new CachingJobStore(store, options.Store.CacheCapacity) : store;
        });
        services.AddSingleton<IAccountStore>(sp => sp.GetRequiredService<PostgresJobStore>());
        services.AddSingleton<IWebhookStore>(sp => new PostgresWebhookStore(sp.GetRequiredService<PostgresJobStore>()));
        return services;
    }
}
