using Microsoft.Extensions.DependencyInjection;
using Reelay.Accounts;
using Reelay.Storage.Postgres;
using Reelay.Storage.Sqlite;
using Reelay.Webhooks;

namespace Reelay.Storage;

/// <summary>Registers the store that <c>Reelay:Store:Provider</c> names.</summary>
public static class StoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IJobStore"/>, <see cref="IAccountStore"/> and <see cref="IWebhookStore"/> from the store that
    /// <c>Reelay:Store:Provider</c> selects when they are first resolved: the embedded SQLite file (<c>sqlite</c>, the
    /// default, see <see cref="SqliteServiceCollectionExtensions.AddReelaySqliteStore"/>) or a PostgreSQL database
    /// (<c>postgres</c>, see <see cref="PostgresServiceCollectionExtensions.AddReelayPostgresStore"/>). Only the selected
    /// one is ever constructed.
    /// </summary>
    public static IServiceCollection AddReelayConfiguredStore(this IServiceCollection services)
    {
        var sqlite = new ServiceCollection().AddReelaySqliteStore();
        var postgres = new ServiceCollection().AddReelayPostgresStore();

        // The concrete stores, registered as each extension does; the interfaces pick one of them by the option.
        foreach (var descriptor in sqlite.Concat(postgres).Where(d => !IsStoreInterface(d.ServiceType)))
        {
            services.Add(descriptor);
        }

        AddSelected<IJobStore>(services, sqlite, postgres);
        AddSelected<IAccountStore>(services, sqlite, postgres);
        AddSelected<IWebhookStore>(services, sqlite, postgres);
        return services;
    }

    private static bool IsStoreInterface(Type type) => type == typeof(IJobStore) || type == typeof(IAccountStore) || type == typeof(IWebhookStore);

    private static void AddSelected<T>(IServiceCollection services, IServiceCollection sqlite, IServiceCollection postgres)
        where T : class
    {
        var fromSqlite = Factory<T>(sqlite);
        var fromPostgres = Factory<T>(postgres);
        services.AddSingleton(sp => (T)(sp.GetRequiredService<ReelayOptions>().Store.IsPostgres ? fromPostgres(sp) : fromSqlite(sp)));
    }

    private static Func<IServiceProvider, object> Factory<T>(IServiceCollection services) =>
        services.Single(d => d.ServiceType == typeof(T)).ImplementationFactory
        ?? throw new InvalidOperationException($"{typeof(T).Name} must be registered with a factory.");
}
