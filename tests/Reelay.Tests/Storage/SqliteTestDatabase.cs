using Reelay.Storage.Sqlite;

namespace Reelay.Tests.Storage;

/// <summary>
/// A SQLite database in a temporary folder of its own for one test, and every store opened over it; disposing closes
/// the stores and deletes the folder. The contract suites' SQLite classes share it.
/// </summary>
public sealed class SqliteTestDatabase : IAsyncDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("reelay-sqlite-");
    private readonly List<SqliteJobStore> _stores = [];

    /// <summary>The connection string of the database.</summary>
    public string ConnectionString => SqliteJobStore.DefaultConnectionString(_directory.FullName);

    /// <summary>Opens and initializes a store over the database, as a (re)started process would.</summary>
    public async Task<SqliteJobStore> OpenAsync(TimeProvider? time = null)
    {
        var store = new SqliteJobStore(ConnectionString, time);
        await store.InitializeAsync(CancellationToken.None);
        _stores.Add(store);
        return store;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        _directory.Delete(recursive: true);
    }
}
