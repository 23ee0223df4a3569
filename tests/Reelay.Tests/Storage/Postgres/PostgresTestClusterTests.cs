using Npgsql;
using Reelay.Testing;

namespace Reelay.Tests.Storage.Postgres;

/// <summary>The shared test fixture itself: the private cluster is reachable, loopback only, and hands out separate databases.</summary>
public sealed class PostgresTestClusterTests
{
    [Fact]
    public async Task CreateDatabaseAsync_TwoCalls_GiveSeparateEmptyDatabases()
    {
        await using var first = await PostgresTestCluster.CreateDatabaseAsync();
        await using var second = await PostgresTestCluster.CreateDatabaseAsync();

        Assert.NotEqual(first.Name, second.Name);
        await using (var connection = new NpgsqlConnection(first.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE TABLE only_in_first (x int)", connection);
            await create.ExecuteNonQueryAsync();
            await using var name = new NpgsqlCommand("SELECT current_database()", connection);
            Assert.Equal(first.Name, await name.ExecuteScalarAsync());
        }

        await using (var connection = new NpgsqlConnection(second.ConnectionString))
        {
            await connection.OpenAsync();
            await using var count = new NpgsqlCommand("SELECT COUNT(*) FROM pg_tables WHERE tablename = 'only_in_first'", connection);
            Assert.Equal(0L, await count.ExecuteScalarAsync());
        }
    }

    [Fact]
    public async Task GetAsync_PrivateCluster_ListensOnLoopbackOnlyWithFsyncOff()
    {
        if (Environment.GetEnvironmentVariable(PostgresTestCluster.ServerVariable) is { Length: > 0 })
        {
            return; // An operator-supplied server is configured as they chose.
        }

        var cluster = await PostgresTestCluster.GetAsync();
        await using var connection = new NpgsqlConnection(cluster.AdminConnectionString);
        await connection.OpenAsync();

        Assert.Equal("127.0.0.1", await ShowAsync(connection, "listen_addresses"));
        Assert.Equal("off", await ShowAsync(connection, "fsync"));
    }

    [Fact]
    public async Task DisposeAsync_Database_DropsIt()
    {
        var database = await PostgresTestCluster.CreateDatabaseAsync();
        await database.DisposeAsync();

        await using var connection = new NpgsqlConnection(database.Cluster.AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM pg_database WHERE datname = @name", connection);
        command.Parameters.AddWithValue("name", database.Name);
        Assert.Equal(0L, await command.ExecuteScalarAsync());
    }

    private static async Task<string?> ShowAsync(NpgsqlConnection connection, string setting)
    {
        await using var command = new NpgsqlCommand($"SHOW {setting}", connection);
        return (string?)await command.ExecuteScalarAsync();
    }
}
