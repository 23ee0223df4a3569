using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;
using Reelay.Server.Tests.Cli;
using Reelay.Server.Tests.Support;
using Reelay.Storage.Postgres;
using Reelay.Testing;

namespace Reelay.Server.Tests.Hosting;

/// <summary>The real gateway (and <c>reelay migrate</c>) with Reelay:Store:Provider=postgres, on the test run's private PostgreSQL.</summary>
public sealed class PostgresServerTests : IAsyncLifetime
{
    private PostgresTestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await PostgresTestCluster.CreateDatabaseAsync();

    public async Task DisposeAsync() => await _database.DisposeAsync();

    private Dictionary<string, string?> Settings(string? connectionString = null) => new()
    {
        ["Reelay:Store:Provider"] = "postgres",
        ["Reelay:Store:ConnectionString"] = connectionString ?? _database.ConnectionString,
    };

    [Fact]
    public async Task Serve_OnPostgres_RunsASandboxJobEndToEndWithEverythingInTheDatabase()
    {
        await using var server = await ReelayTestServer.StartAsync(Settings());

        using var response = await server.Http.PostAsync("/v1/videos",
            new StringContent("""{"model":"sandbox","prompt":"A lighthouse at dawn","seconds":"1","size":"160x120"}""", Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
        JsonElement video = default;
        for (var i = 0; i < 600; i++)
        {
            video = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}");
            if (video.GetProperty("status").GetString() is "completed" or "failed")
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal("completed", video.GetProperty("status").GetString());
        var content = await server.Http.GetByteArrayAsync($"/v1/videos/{id}/content");
        Assert.Equal("ftyp", Encoding.ASCII.GetString(content, 4, 4));

        // The job lives in PostgreSQL, its claim is gone with its end, and no SQLite file was made.
        await using var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        await using (var command = new NpgsqlCommand("SELECT status, (SELECT COUNT(*) FROM job_claims WHERE job_id = @id) FROM jobs WHERE id = @id", connection))
        {
            command.Parameters.AddWithValue("id", id);
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(("succeeded", 0L), (reader.GetString(0), reader.GetInt64(1)));
        }

        Assert.False(File.Exists(Path.Combine(server.DataDirectory, "reelay.db")));
    }

    [Fact]
    public async Task Start_WrongPassword_FailsWithAClearErrorWithoutTheSecret()
    {
        const string secret = "wrong-secret-b81c";
        var connectionString = new NpgsqlConnectionStringBuilder(_database.ConnectionString) { Password = secret }.ConnectionString;

        var error = await Assert.ThrowsAnyAsync<Exception>(() => ReelayTestServer.StartAsync(Settings(connectionString)));

        var store = Assert.IsType<StoreConnectionException>(error is StoreConnectionException ? error : error.InnerException ?? error);
        Assert.Contains("Reelay:Store:ConnectionString", store.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_PostgresWithoutConnectionString_RefusedAtValidation()
    {
        await ReelayTestServer.AssertStartRefusedAsync("Reelay:Store:Provider", "postgres", "Reelay:Store:ConnectionString is required");
    }

    [Fact]
    public async Task Migrate_Postgres_AppliesTheSchemaAndPrintsTheVersionWithoutThePassword()
    {
        var data = Directory.CreateTempSubdirectory("reelay-migrate-").FullName;
        try
        {
            var result = await CliRunner.RunAsync(["migrate", "--data", data, "--Reelay:Store:Provider=postgres", $"--Reelay:Store:ConnectionString={_database.ConnectionString}"]);

            Assert.True(result.ExitCode == 0, result.Error);
            Assert.Contains($"schema version {PostgresJobStore.LatestSchemaVersion} (postgres 127.0.0.1:", result.Output, StringComparison.Ordinal);
            var password = new NpgsqlConnectionStringBuilder(_database.ConnectionString).Password;
            if (!string.IsNullOrEmpty(password))
            {
                Assert.DoesNotContain(password, result.Output + result.Error, StringComparison.Ordinal);
            }

            await using var connection = new NpgsqlConnection(_database.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT MAX(version) FROM schema_migrations", connection);
            Assert.Equal(PostgresJobStore.LatestSchemaVersion, await command.ExecuteScalarAsync());
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(data);
        }
    }

    [Fact]
    public async Task Migrate_WrongPassword_PrintsOneLineWithoutTheSecret()
    {
        const string secret = "wrong-secret-77d0";
        var connectionString = new NpgsqlConnectionStringBuilder(_database.ConnectionString) { Password = secret }.ConnectionString;
        var data = Directory.CreateTempSubdirectory("reelay-migrate-").FullName;
        try
        {
            var result = await CliRunner.RunAsync(["migrate", "--data", data, "--Reelay:Store:Provider=postgres", $"--Reelay:Store:ConnectionString={connectionString}"]);

            Assert.Equal(1, result.ExitCode);
            var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("reelay: PostgreSQL at 127.0.0.1:", line, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, result.Output + result.Error, StringComparison.Ordinal);
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(data);
        }
    }
}
