using Reelay.Storage.Postgres;
using Reelay.Testing;

namespace Reelay.Tests.Storage.Postgres;

/// <summary>
/// A database of its own in the test run's PostgreSQL cluster for one test, and every store opened over it; disposing
/// closes the stores and drops the database. The contract suites' PostgreSQL classes share it.
/// </summary>
internal sealed class PostgresTestStores : IAsyncDisposable
{
    private readonly List<PostgresJobStore> _stores = [];
    private PostgresTestDatabase? _database;

    /// <summary>The database (created by the first <see cref="OpenAsync"/> or <see cref="DatabaseAsync"/>).</summary>
    public async Task<PostgresTestDatabase> DatabaseAsync() => _database ??= await PostgresTestCluster.CreateDatabaseAsync();

    /// <summary>Opens and initializes a store over the database, as a (re)started process, or another node, would.</summary>
    public async Task<PostgresJobStore> OpenAsync(TimeProvider? time = null)
    {
        var database = await DatabaseAsync();
        var store = new PostgresJobStore(database.ConnectionString, time);
        _stores.Add(store);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
