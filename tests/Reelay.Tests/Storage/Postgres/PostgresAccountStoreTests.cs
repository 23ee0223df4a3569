using Reelay.Storage.Postgres;
using Reelay.Tests.Accounts;

namespace Reelay.Tests.Storage.Postgres;

/// <summary>The account store contract, run against the PostgreSQL store (the job store's database).</summary>
public sealed class PostgresAccountStoreTests : AccountStoreContractTests, IAsyncLifetime
{
    private readonly PostgresTestStores _stores = new();

    protected override async Task<AccountStores> CreateStoresAsync() => Both(await _stores.OpenAsync());

    protected override async Task<AccountStores> ReopenStoresAsync() => Both(await _stores.OpenAsync());

    protected override async Task CloseStoresAsync(AccountStores stores) => await ((IAsyncDisposable)stores.Jobs).DisposeAsync();

    Task IAsyncLifetime.InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync() => await _stores.DisposeAsync();

    private static AccountStores Both(PostgresJobStore store) => new(store, store);
}
