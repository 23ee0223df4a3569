using Microsoft.Extensions.DependencyInjection;
using Reelay.Accounts;
using Reelay.Webhooks;

namespace Reelay.Storage.Sql;

/// <summary>What registering either SQL store does, once: one database object behind the store interfaces.</summary>
internal static class SqlStoreRegistration
{
    /// <summary>
    /// Registers the database (<paramref name="create"/>, a singleton) as <see cref="IJobStore"/> (behind the read cache
    /// when <c>Store:CacheCapacity</c> is above 0), <see cref="IAccountStore"/> and, through <paramref name="webhooks"/>,
    /// <see cref="IWebhookStore"/>.
    /// </summary>
    public static IServiceCollection AddSqlStore<TStore>(this IServiceCollection services, Func<IServiceProvider, ReelayOptions, TStore> create, Func<TStore, IWebhookStore> webhooks)
        where TStore : SqlJobStore
    {
        services.AddSingleton(sp => create(sp, sp.GetRequiredService<ReelayOptions>()));
        services.AddSingleton<IJobStore>(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            IJobStore store = sp.GetRequiredService<TStore>();
            return options.Store.CacheCapacity > 0 ? new CachingJobStore(store, options.Store.CacheCapacity) : store;
        });
        services.AddSingleton<IAccountStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton(sp => webhooks(sp.GetRequiredService<TStore>()));
        return services;
    }
}
