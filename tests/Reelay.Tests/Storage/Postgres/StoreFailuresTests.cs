using System.Net;
using System.Net.Sockets;
using Npgsql;
using Reelay.Storage.Postgres;
using Reelay.Storage.Sql;
using Reelay.Testing;

namespace Reelay.Tests.Storage.Postgres;

/// <summary>
/// Which failures of the store's database mean "unavailable right now" (a request answers 503 and may be retried) and
/// which are bugs (500): classified from Npgsql's exceptions, and met for real on the test run's PostgreSQL.
/// </summary>
public sealed class StoreFailuresTests
{
    [Theory]
    [InlineData("57P01")] // admin_shutdown: the server is stopping, or pg_terminate_backend
    [InlineData("57P02")] // crash_shutdown
    [InlineData("57P03")] // cannot_connect_now: starting up or shutting down
    [InlineData("40001")] // serialization_failure
    [InlineData("40P01")] // deadlock_detected
    [InlineData("53300")] // too_many_connections
    [InlineData("08006")] // connection_failure
    [InlineData("57014")] // query_canceled: a statement timeout
    public void IsUnavailable_ServerSaysItCannotServeNow_True(string sqlState)
    {
        Assert.True(StoreFailures.IsUnavailable(new PostgresException("test", "FATAL", "FATAL", sqlState)));
    }

    [Theory]
    [InlineData("23505")] // unique_violation
    [InlineData("42P01")] // undefined_table
    [InlineData("42601")] // syntax_error
    [InlineData("22P02")] // invalid_text_representation
    public void IsUnavailable_StatementIsWrong_False(string sqlState)
    {
        Assert.False(StoreFailures.IsUnavailable(new PostgresException("test", "ERROR", "ERROR", sqlState)));
    }

    [Fact]
    public void IsUnavailable_ClientSideFailuresAndWrappedOnes_True()
    {
        Assert.True(StoreFailures.IsUnavailable(new NpgsqlException("The connection pool has been exhausted, either raise 'Max Pool Size' (currently 1) or 'Timeout' (currently 1 seconds) in your connection string.")));
        Assert.True(StoreFailures.IsUnavailable(new NpgsqlException("Exception while reading from stream", new TimeoutException())));
        Assert.True(StoreFailures.IsUnavailable(new NpgsqlException("Exception while reading from stream", new IOException("reset"))));
        Assert.True(StoreFailures.IsUnavailable(new StoreConnectionException("PostgreSQL at 127.0.0.1:1/x cannot be reached")));
        Assert.True(StoreFailures.IsUnavailable(new InvalidOperationException("outer", new PostgresException("test", "FATAL", "FATAL", "57P01"))));
    }

    [Fact]
    public void IsUnavailable_NotADatabaseFailure_False()
    {
        Assert.False(StoreFailures.IsUnavailable(null));
        Assert.False(StoreFailures.IsUnavailable(new InvalidOperationException("a bug")));
        Assert.False(StoreFailures.IsUnavailable(new OperationCanceledException()));
        Assert.False(StoreFailures.IsUnavailable(new IOException("a file, not the database")));
        Assert.False(StoreFailures.IsUnavailable(new InvalidOperationException("outer", new PostgresException("test", "ERROR", "ERROR", "23505"))));
    }

    [Fact]
    public async Task GetAsync_ConnectionRefused_UnavailableWithoutThePassword()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        const string secret = "refused-secret-5f2e";
        await using var store = new PostgresJobStore($"Host=127.0.0.1;Port={port};Database=reelay;Username=reelay;Password={secret};Timeout=2");

        var error = await Assert.ThrowsAsync<StoreConnectionException>(() => store.GetAsync("video_0123", CancellationToken.None));

        Assert.True(StoreFailures.IsUnavailable(error));
        Assert.Contains("cannot be reached", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAsync_PoolExhaustedByABlockedRead_UnavailableNamingThePool()
    {
        await using var database = await PostgresTestCluster.CreateDatabaseAsync();
        var tiny = new NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxPoolSize = 1, Timeout = 1 }.ConnectionString;
        await using var store = new PostgresJobStore(tiny);
        await store.InitializeAsync(CancellationToken.None);

        // Another session locks the jobs table: the store's only pooled connection waits inside a read.
        await using var locker = new NpgsqlConnection(database.ConnectionString);
        await locker.OpenAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE", locker, transaction))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        var blocked = store.GetAsync("video_0123", CancellationToken.None);
        await WaitForLockWaiterAsync(database.ConnectionString, database.Name);

        var error = await Assert.ThrowsAsync<StoreConnectionException>(() => store.GetAsync("video_4567", CancellationToken.None));

        Assert.True(StoreFailures.IsUnavailable(error));
        Assert.True(error.Message.Contains("no pooled connection became free", StringComparison.Ordinal), error.Message);
        await transaction.RollbackAsync();
        Assert.Null(await blocked);
    }

    /// <summary>
    /// Waits until a session of <paramref name="database"/> waits for a lock. Polled from a connection of its own:
    /// pg_stat_activity is a snapshot per transaction, so the locking transaction itself would never see it change.
    /// </summary>
    internal static async Task WaitForLockWaiterAsync(string connectionString, string database)
    {
        await using var watcher = new NpgsqlConnection(connectionString);
        await watcher.OpenAsync();
        for (var i = 0; i < 200; i++)
        {
            await using var command = new NpgsqlCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = @db AND wait_event_type = 'Lock'", watcher);
            command.Parameters.AddWithValue("db", database);
            if ((long)(await command.ExecuteScalarAsync())! > 0)
            {
                return;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException("No session started waiting for the lock within 5 s.");
    }
}
