using System.Data.Common;
using Npgsql;
using Reelay.Storage.Sql;

namespace Reelay.Storage.Postgres;

/// <summary>
/// The job store on PostgreSQL, for one or several gateway nodes sharing a database. Thread-safe; open one instance per
/// process (it owns one <see cref="NpgsqlDataSource"/>, hence one connection pool) and share it. It also holds keys,
/// charges and idempotency records (<see cref="IAccountStore"/>) and job claims (<see cref="IJobClaims"/>); the logic
/// lives in <see cref="SqlJobStore"/>, shared with the SQLite store.
/// </summary>
/// <remarks>
/// Correct across processes, not only threads: every job write is a compare-and-set on its version in one statement,
/// money moves are conditional updates inside transactions (PostgreSQL's row locks, never a process-local lock), and
/// claims take rows with <c>FOR UPDATE SKIP LOCKED</c>. Migrations run under an advisory lock, so nodes starting
/// together apply each one exactly once.
/// </remarks>
public sealed partial class PostgresJobStore : SqlJobStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly string _target;
    private volatile bool _disposed;

    /// <summary>Creates a store over a database. Call <see cref="InitializeAsync"/> before anything else.</summary>
    /// <param name="connectionString">An Npgsql connection string (<c>Host=…;Database=…;Username=…;Password=…</c>).</param>
    /// <param name="timeProvider">The clock for migration records; the system clock when null.</param>
    /// <exception cref="ArgumentException">The connection string cannot be parsed (the message never repeats it).</exception>
    public PostgresJobStore(string connectionString, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
        {
            // The parser's message may quote the string, password included.
            throw new ArgumentException("The PostgreSQL connection string cannot be parsed.", nameof(connectionString));
        }

        _target = Describe(builder);
        _dataSource = NpgsqlDataSource.Create(builder);
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The schema migrations, in order.</summary>
    internal static IReadOnlyList<Migration> Migrations => PostgresMigrations.All;

    /// <summary>The schema version this build migrates a database to.</summary>
    public static int LatestSchemaVersion => PostgresMigrations.All.Count;

    /// <summary>Where the store connects, without secrets: <c>host:port/database as user</c>.</summary>
    public string Target => _target;

    /// <inheritdoc />
    /// <exception cref="StoreConnectionException">The server cannot be reached or refuses the login (the message names the server, never the password).</exception>
    public override async Task InitializeAsync(CancellationToken cancellationToken) => await MigrateAsync(cancellationToken);

    /// <summary>
    /// Applies pending migrations under an advisory transaction lock (several nodes starting together wait for each
    /// other and apply each migration once) and returns the schema version now in force.
    /// </summary>
    /// <exception cref="StoreConnectionException">The server cannot be reached or refuses the login.</exception>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await SqlCommands.ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(@key)",
            c => c.Bind("@key", PostgresMigrations.AdvisoryLockKey), cancellationToken);
        return await SchemaMigrations.ApplyAsync(transaction, Migrations, _time.GetUtcNow(), cancellationToken);
    }

    /// <summary>Closes the connection pool.</summary>
    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            await _dataSource.DisposeAsync();
        }
    }

    /// <summary>Opens a pooled connection; failures to reach or log in become a <see cref="StoreConnectionException"/>.</summary>
    internal async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification)
        {
            throw new StoreConnectionException($"PostgreSQL at {_target} refused the login ({e.MessageText}); check the user and password in Reelay:Store:ConnectionString.", e);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InvalidCatalogName)
        {
            throw new StoreConnectionException($"PostgreSQL at {_target} has no such database ({e.MessageText}); create it (CREATE DATABASE) or fix Database= in Reelay:Store:ConnectionString.", e);
        }
        catch (NpgsqlException e) when (e is not PostgresException && e.Message.StartsWith("The connection pool has been exhausted", StringComparison.Ordinal))
        {
            // Npgsql says so only in its message (no SQL state; its inner exception is a bare TimeoutException): every pooled
            // connection stayed busy for the whole Timeout. The database may be fine; this node asks more of it at once
            // than its pool allows.
            throw new StoreConnectionException($"PostgreSQL at {_target}: no pooled connection became free in time ({e.Message}).", e);
        }
        catch (NpgsqlException e) when (e is not PostgresException)
        {
            throw new StoreConnectionException($"PostgreSQL at {_target} cannot be reached ({e.InnerException?.Message ?? e.Message}); check that it runs and Host/Port in Reelay:Store:ConnectionString.", e);
        }
    }

    /// <inheritdoc />
    internal override async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) => await OpenAsync(cancellationToken);

    /// <inheritdoc />
    internal override async ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(cancellationToken);

    private static string Describe(NpgsqlConnectionStringBuilder builder) =>
        $"{builder.Host ?? "localhost"}:{builder.Port}/{builder.Database ?? builder.Username ?? "(default)"} as {builder.Username ?? "(default user)"}";
}

/// <summary>
/// The store's database cannot be reached or refuses the login. The message names the server, database and user and
/// what to fix, never the password.
/// </summary>
public sealed class StoreConnectionException(string message, Exception? inner = null) : Exception(message, inner);
