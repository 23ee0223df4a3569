using Reelay.Storage.Postgres;
using Reelay.Tests.Webhooks;

namespace Reelay.Tests.Storage.Postgres;

/// <summary>The webhook store contract, run against the PostgreSQL store (the job store's database).</summary>
public sealed class PostgresWebhookStoreTests : WebhookStoreContractTests, IAsyncLifetime
{
    private readonly PostgresTestStores _stores = new();

    protected override async Task<WebhookStores> CreateStoresAsync() => Both(await _stores.OpenAsync());

    protected override async Task<WebhookStores> ReopenStoresAsync(WebhookStores earlier)
    {
        await ((IAsyncDisposable)earlier.Jobs).DisposeAsync();
        return Both(await _stores.OpenAsync());
    }

    Task IAsyncLifetime.InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync() => await _stores.DisposeAsync();

    private static WebhookStores Both(PostgresJobStore store) => new(store, new PostgresWebhookStore(store));
}
