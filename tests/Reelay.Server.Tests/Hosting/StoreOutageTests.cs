using System.Net;
using System.Text;
using System.Text.Json;
using Npgsql;
using Reelay.Server.Tests.Support;
using Reelay.Testing;

namespace Reelay.Server.Tests.Hosting;

/// <summary>
/// A gateway on PostgreSQL whose database fails under a submit, for real on the test run's private PostgreSQL: the
/// node's connection pool exhausted, a command timing out, the session terminated as a server shutdown does (57P01).
/// Each answers 503 with Retry-After in the dialect's own envelope, never 500, and loses nothing: the retry with the
/// same Idempotency-Key stores exactly one job.
/// </summary>
public sealed class StoreOutageTests : IAsyncLifetime
{
    // The statement of a submit's insert, as pg_stat_activity shows it.
    private const string InsertJob = "INSERT INTO jobs %";

    private PostgresTestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await PostgresTestCluster.CreateDatabaseAsync();

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Theory]
    [InlineData("/v1/videos", """{"model":"sandbox","prompt":"x","seconds":"1","size":"160x120"}""")]
    [InlineData("/v1/tasks/submit", """{"model":"sandbox","input":{"prompt":"x"},"parameters":{"size":"160x90","duration":1}}""")]
    [InlineData("/v2/video/generations", """{"model":"sandbox","prompt":"x","duration":1,"resolution":"720p"}""")]
    [InlineData("/v2/videos/generations", """{"model":"sandbox","prompt":"x","duration":"1","aspect_ratio":"16:9"}""")]
    public async Task Submit_PoolExhausted_503WithRetryAfterInTheDialectsEnvelopeAndTheRetryStoresOneJob(string route, string body)
    {
        // One pooled connection, given up on after 1 s.
        await using var server = await StartAsync(new NpgsqlConnectionStringBuilder(_database.ConnectionString) { MaxPoolSize = 1, Timeout = 1 });
        var key = "outage-" + Guid.NewGuid().ToString("N");
        HttpResponseMessage refused;
        await using (var locked = await LockJobsAsync())
        {
            // A read of an unknown job takes the pool's only connection and waits on the lock.
            var blocker = server.Http.GetAsync("/v1/videos/video_00000000000000000000000000000000");
            await WaitForLockWaiterAsync();

            refused = await SubmitAsync(server, route, body, key);
            await locked.ReleaseAsync();
            (await blocker).Dispose();
        }

        using (refused)
        {
            await AssertUnavailableAsync(refused);
        }

        Assert.Equal(0, await JobsWithKeyAsync(key));
        await AssertRetryStoresOneJobAsync(server, route, body, key);
    }

    [Fact]
    public async Task Submit_CommandTimesOut_503AndNothingStoredUntilTheRetry()
    {
        await using var server = await StartAsync(new NpgsqlConnectionStringBuilder(_database.ConnectionString) { CommandTimeout = 1 });
        const string route = "/v1/videos";
        const string body = """{"model":"sandbox","prompt":"timeout","seconds":"1","size":"160x120"}""";
        var key = "outage-" + Guid.NewGuid().ToString("N");
        HttpResponseMessage refused;
        await using (var locked = await LockJobsAsync())
        {
            refused = await SubmitAsync(server, route, body, key);
            await locked.ReleaseAsync();
        }

        using (refused)
        {
            await AssertUnavailableAsync(refused);
        }

        Assert.Equal(0, await JobsWithKeyAsync(key));
        await AssertRetryStoresOneJobAsync(server, route, body, key);
    }

    [Fact]
    public async Task Submit_SessionTerminatedAsByAShutdown_503AndTheRetryStoresOneJob()
    {
        await using var server = await StartAsync(new NpgsqlConnectionStringBuilder(_database.ConnectionString));
        const string route = "/v1/videos";
        const string body = """{"model":"sandbox","prompt":"terminated","seconds":"1","size":"160x120"}""";
        var key = "outage-" + Guid.NewGuid().ToString("N");
        HttpResponseMessage refused;
        await using (var locked = await LockJobsAsync())
        {
            var submit = SubmitAsync(server, route, body, key);
            await WaitForLockWaiterAsync(InsertJob);

            // What a fast or immediate shutdown does to every session: FATAL 57P01 (admin_shutdown).
            await using (var admin = new NpgsqlConnection(_database.ConnectionString))
            {
                await admin.OpenAsync();
                await using var terminate = new NpgsqlCommand(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = @db AND wait_event_type = 'Lock' AND query LIKE @query", admin);
                terminate.Parameters.AddWithValue("db", _database.Name);
                terminate.Parameters.AddWithValue("query", InsertJob);
                await terminate.ExecuteNonQueryAsync();
            }

            refused = await submit;
            await locked.ReleaseAsync();
        }

        using (refused)
        {
            await AssertUnavailableAsync(refused);
        }

        Assert.Equal(0, await JobsWithKeyAsync(key));
        await AssertRetryStoresOneJobAsync(server, route, body, key);
    }

    private static Task<ReelayTestServer> StartAsync(NpgsqlConnectionStringBuilder connectionString) => ReelayTestServer.StartAsync(new()
    {
        ["Reelay:Store:Provider"] = "postgres",
        ["Reelay:Store:ConnectionString"] = connectionString.ConnectionString,
    });

    private static async Task<HttpResponseMessage> SubmitAsync(ReelayTestServer server, string route, string body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, route) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", key);
        return await server.Http.SendAsync(request);
    }

    private static async Task AssertUnavailableAsync(HttpResponseMessage refused)
    {
        var text = await refused.Content.ReadAsStringAsync();
        Assert.True(refused.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)refused.StatusCode}: {text}");
        Assert.Equal(TimeSpan.FromSeconds(2), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(text).RootElement.ValueKind);
        Assert.Contains("cannot reach its job store", text, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Npgsql", text, StringComparison.Ordinal);
    }

    private async Task AssertRetryStoresOneJobAsync(ReelayTestServer server, string route, string body, string key)
    {
        using var first = await SubmitAsync(server, route, body, key);
        Assert.True(first.IsSuccessStatusCode, await first.Content.ReadAsStringAsync());
        using var again = await SubmitAsync(server, route, body, key);
        Assert.True(again.IsSuccessStatusCode, await again.Content.ReadAsStringAsync());
        Assert.Equal(1, await JobsWithKeyAsync(key));
    }

    private async Task<long> JobsWithKeyAsync(string key)
    {
        await using var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM jobs WHERE idempotency_key = @key", connection);
        command.Parameters.AddWithValue("key", key);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Takes an exclusive lock on the jobs table in a transaction of its own, until released or disposed.</summary>
    private async Task<TableLock> LockJobsAsync()
    {
        var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE", connection, transaction))
        {
            await command.ExecuteNonQueryAsync();
        }

        return new TableLock(connection, transaction);
    }

    /// <summary>
    /// Waits until a session of the database whose statement is LIKE <paramref name="query"/> waits for a lock (polled
    /// from a connection of its own: pg_stat_activity is a snapshot per transaction).
    /// </summary>
    private async Task WaitForLockWaiterAsync(string query = "%")
    {
        await using var watcher = new NpgsqlConnection(_database.ConnectionString);
        await watcher.OpenAsync();
        for (var i = 0; i < 400; i++)
        {
            await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = @db AND wait_event_type = 'Lock' AND query LIKE @query", watcher);
            command.Parameters.AddWithValue("db", _database.Name);
            command.Parameters.AddWithValue("query", query);
            if ((long)(await command.ExecuteScalarAsync())! > 0)
            {
                return;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException("No session started waiting for the lock within 10 s.");
    }

    private sealed class TableLock(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        private bool _released;

        public async Task ReleaseAsync()
        {
            if (!_released)
            {
                _released = true;
                await transaction.RollbackAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await ReleaseAsync();
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
