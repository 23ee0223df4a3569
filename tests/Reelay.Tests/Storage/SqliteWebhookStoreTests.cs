using Reelay.Storage.Sqlite;
using Reelay.Tests.Webhooks;

namespace Reelay.Tests.Storage;

/// <summary>The webhook store contract, run against the SQLite store (the job store's database).</summary>
public sealed class SqliteWebhookStoreTests : WebhookStoreContractTests, IAsyncLifetime
{
    private readonly SqliteTestDatabase _database = new();

    protected override async Task<WebhookStores> CreateStoresAsync() => Both(await _database.OpenAsync());

    protected override async Task<WebhookStores> ReopenStoresAsync(WebhookStores earlier)
    {
        await ((IAsyncDisposable)earlier.Jobs).DisposeAsync();
        return Both(await _database.OpenAsync());
    }

    Task IAsyncLifetime.InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync() => await _database.DisposeAsync();

    private static WebhookStores Both(SqliteJobStore store) => new(store, new SqliteWebhookStore(store));
}
