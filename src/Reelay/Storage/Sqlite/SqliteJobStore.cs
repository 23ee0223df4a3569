using System.Data.Common;
using Microsoft.Data.Sqlite;
using Reelay.Storage.Sql;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// The embedded job store: one SQLite database file in WAL mode with a full sync on every commit, so a write that
/// returned survives a crash or power loss. Thread-safe; open one instance per database and share it. It also holds
/// keys, charges and idempotency records (<see cref="IAccountStore"/>) and job claims (<see cref="IJobClaims"/>); the
/// logic lives in <see cref="SqlJobStore"/>, shared with the PostgreSQL store.
/// </summary>
/// <remarks>
/// Every write is one autocommit statement or one <c>BEGIN IMMEDIATE</c> transaction. Concurrent writers in this process
/// queue for SQLite's single write lock instead of failing with "database is locked"; other processes on the same file
/// wait up to a busy timeout.
/// </remarks>
public sealed partial class SqliteJobStore : SqlJobStore
{
    /// <summary>The database file name inside the data directory.</summary>
    public const string DefaultFileName = "reelay.db";

    // Per connection, so run on every open (pooled connections keep them, and re-running costs no I/O).
    private const string ConnectionPragmas = "PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

    private readonly string _connectionString;
    private readonly string? _directory;
    private readonly TimeProvider _time;

    // SQLite admits one writer at a time and its driver blocks the calling thread while it waits for the lock, so
    // this process's writers queue here without holding threads; busy_timeout still covers other processes.
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private volatile bool _disposed;

    /// <summary>Creates a store over a database file. Call <see cref="InitializeAsync"/> before anything else.</summary>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string naming a file, e.g. <c>Data Source=data/reelay.db</c>. Its folder is created if missing.</param>
    /// <param name="timeProvider">The clock for migration records; the system clock when null.</param>
    public SqliteJobStore(string connectionString, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.Mode == SqliteOpenMode.Memory || builder.DataSource is "" or ":memory:")
        {
            throw new ArgumentException("The SQLite job store needs a database file; in-memory databases are not supported.", nameof(connectionString));
        }

        _connectionString = builder.ToString();
        _directory = builder.DataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            ? null
            : Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The connection string for the default database file in <paramref name="dataDirectory"/>.</summary>
    public static string DefaultConnectionString(string dataDirectory) =>
        new SqliteConnectionStringBuilder { DataSource = Path.Combine(dataDirectory, DefaultFileName) }.ToString();

    /// <summary>The schema migrations, in order.</summary>
    internal static IReadOnlyList<Migration> Migrations => SqliteMigrations.All;

    /// <summary>The schema version this build migrates a database to.</summary>
    public static int LatestSchemaVersion => SqliteMigrations.All.Count;

    /// <inheritdoc />
    public override async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_directory is not null)
        {
            Directory.CreateDirectory(_directory);
        }

        await WithWriteConnectionAsync(async connection =>
        {
            await using (var command = connection.CreateCommand())
            {
                // The journal mode is stored in the file, and cannot change inside a transaction.
                command.CommandText = "PRAGMA journal_mode = WAL";
                var mode = await command.ExecuteScalarAsync(cancellationToken) as string;
                if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException($"SQLite could not switch the job database to WAL journal mode (it reports '{mode}'); keep the database on a local file system.");
                }
            }

            await using var transaction = await BeginWriteTransactionAsync(connection, cancellationToken);
            return await SchemaMigrations.ApplyAsync(transaction, Migrations, _time.GetUtcNow(), cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Releases the pooled connections to the database file.</summary>
    public override ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            using var connection = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(connection);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Opens a pooled connection with the store's per-connection settings applied.</summary>
    internal async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = ConnectionPragmas;
            await command.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    internal override async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) => await OpenAsync(cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> on a fresh connection while holding the database's write gate. Every writer to this
    /// file in the process (jobs, accounts, claims, the webhook outbox) queues here instead of blocking a thread in SQLite's lock.
    /// </summary>
    internal override async Task<T> WithWriteConnectionAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            return await work(connection);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <inheritdoc />
    internal override ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));
}
