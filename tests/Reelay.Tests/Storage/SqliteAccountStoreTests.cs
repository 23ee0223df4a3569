using Reelay.Tests.Accounts;

namespace Reelay.Tests.Storage;

/// <summary>The account store contract, run against the SQLite store (the job store's database).</summary>
public sealed class SqliteAccountStoreTests : AccountStoreContractTests, IAsyncLifetime
{
    private readonly SqliteTestDatabase _database = new();

    protected override async Task<AccountStores> CreateStoresAsync() => Both(await _database.OpenAsync());

    protected override async Task<AccountStores> ReopenStoresAsync() => Both(await _database.OpenAsync());

    protected override async Task CloseStoresAsync(AccountStores stores) => await ((IAsyncDisposable)stores.Jobs).DisposeAsync();

    Task IAsyncLifetime.InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync() => await _database.DisposeAsync();

    private static AccountStores Both(Reelay.Storage.Sqlite.SqliteJobStore store) => new(store, store);
}
