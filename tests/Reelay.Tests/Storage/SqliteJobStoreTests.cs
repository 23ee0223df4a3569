using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Reelay.Jobs;
using Reelay.Storage;
using Reelay.Storage.Sqlite;

namespace Reelay.Tests.Storage;

public sealed class SqliteJobStoreTests : JobStoreContractTests, IAsyncLifetime
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_780_000_000_000);

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("reelay-store-");
    private readonly List<SqliteJobStore> _stores = [];

    private string ConnectionString => SqliteJobStore.DefaultConnectionString(_directory.FullName);

    protected override async Task<IJobStore> CreateStoreAsync() => await OpenStoreAsync();

    protected override async Task<IJobStore> ReopenStoreAsync() => await OpenStoreAsync();

    Task IAsyncLifetime.InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task InitializeAsync_NewDatabase_UsesWalJournalMode()
    {
        await OpenStoreAsync();

        await using var connection = await OpenRawAsync();

        Assert.Equal("wal", await ScalarAsync<string>(connection, "PRAGMA journal_mode"));
    }

    [Fact]
    public async Task OpenAsync_AnyConnection_HasDurableSettings()
    {
        var store = await OpenStoreAsync();

        await using var connection = await store.OpenAsync(Ct);

        Assert.Equal(2, await ScalarAsync<long>(connection, "PRAGMA synchronous"));
        Assert.Equal(1, await ScalarAsync<long>(connection, "PRAGMA foreign_keys"));
        Assert.True(await ScalarAsync<long>(connection, "PRAGMA busy_timeout") >= 1_000);
    }

    [Fact]
    public async Task InitializeAsync_NewDatabase_RecordsEveryMigrationInOrder()
    {
        await OpenStoreAsync();

        await using var connection = await OpenRawAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT version, applied_at FROM schema_migrations ORDER BY version";
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var versions = new List<long>();
        while (await reader.ReadAsync(Ct))
        {
            versions.Add(reader.GetInt64(0));
            Assert.Equal(Now.ToUnixTimeMilliseconds(), reader.GetInt64(1));
        }

        Assert.Equal(Enumerable.Range(1, SqliteJobStore.Migrations.Count).Select(v => (long)v), versions);
    }

    [Fact]
    public async Task InitializeAsync_JobSubmittingBeforeSubmitCallRecords_MigratesWithACallInFlight()
    {
        await using (var connection = await OpenRawAsync())
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            Assert.Equal(4, await SchemaMigrations.ApplyAsync(transaction, SqliteJobStore.Migrations.Take(4).ToList(), Now, Ct));
        }

        var job = TestJobs.New(status: JobStatus.Submitting);
        var queued = TestJobs.New();
        await using (var old = await OpenRawAsync())
        {
            // Rows as a version-4 build wrote them: it recorded nothing before calling the upstream, so a job it left in
            // 'submitting' may have reached the upstream and must be looked up, never requeued blindly.
            var created = job.CreatedAt.ToUnixTimeMilliseconds();
            foreach (var (id, status) in new[] { (job.Id, "submitting"), (queued.Id, "queued") })
            {
                await ExecuteAsync(old, $"INSERT INTO jobs (id, owner, model, mode, duration_seconds, width, height, status, created_at, updated_at, deadline, provider, upstream_model, submit_attempts, version) VALUES ('{id}', 'key_test', 'sandbox', 't2v', 5, 1280, 720, '{status}', {created}, {created + 5}, {job.Deadline.ToUnixTimeMilliseconds()}, 'vidu-main', 'viduq2', 1, 1)");
            }
        }

        var store = await OpenStoreAsync();

        var migrated = (await store.GetAsync(job.Id, Ct))!;
        Assert.True(migrated.HasCallInFlight);
        Assert.Equal(new SubmitCall(1, "vidu-main", "viduq2", job.Id, job.CreatedAt.AddMilliseconds(5)), migrated.SubmitCall);
        Assert.Null((await store.GetAsync(queued.Id, Ct))!.SubmitCall);
    }

    [Fact]
    public async Task InitializeAsync_DatabaseAtVersionOne_MigratesToLatestAndKeepsJobs()
    {
        await using (var connection = await OpenRawAsync())
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            Assert.Equal(1, await SchemaMigrations.ApplyAsync(transaction, SqliteJobStore.Migrations.Take(1).ToList(), Now, Ct));
        }

        var job = TestJobs.New();
        await using (var old = await OpenRawAsync())
        {
            // A row as a version-1 build wrote it: only the columns version 1 has.
            var created = job.CreatedAt.ToUnixTimeMilliseconds();
            await ExecuteAsync(old, $"INSERT INTO jobs (id, owner, model, mode, duration_seconds, width, height, status, created_at, updated_at, deadline, version) VALUES ('{job.Id}', '{job.Owner}', 'sandbox', 't2v', 5, 1280, 720, 'queued', {created}, {created}, {job.Deadline.ToUnixTimeMilliseconds()}, 1)");
        }

        var store = await OpenStoreAsync();

        await using var check = await OpenRawAsync();
        Assert.Equal(SqliteJobStore.Migrations.Count, await ScalarAsync<long>(check, "SELECT MAX(version) FROM schema_migrations"));
        AssertSameJob(job with { Version = 1 }, (await store.GetAsync(job.Id, Ct))!);
        var full = TestJobs.Full();
        await store.InsertAsync(full, Ct);
        Assert.Equal(full.ResultSha256, (await store.GetAsync(full.Id, Ct))!.ResultSha256);
    }

    [Fact]
    public async Task InitializeAsync_SchemaNewerThanBuild_ThrowsAndChangesNothing()
    {
        await OpenStoreAsync();
        var future = SqliteJobStore.Migrations.Count + 1;
        await using (var connection = await OpenRawAsync())
        {
            await ExecuteAsync(connection, $"INSERT INTO schema_migrations (version, name, applied_at) VALUES ({future}, 'future', 0)");
        }

        var store = new SqliteJobStore(ConnectionString);
        _stores.Add(store);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync(Ct));
        Assert.Contains($"version {future}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApplyAsync_PendingMigrations_AppliesOnlyNewOnesInOrder()
    {
        // Without IF NOT EXISTS, running "one" twice would fail.
        var one = new Migration(1, "one", "CREATE TABLE one (x INTEGER)");
        var two = new Migration(2, "two", "CREATE TABLE two (x INTEGER); INSERT INTO one (x) VALUES (2);");
        await using var connection = await OpenRawAsync();

        await using (var transaction = connection.BeginTransaction(deferred: false))
        {
            Assert.Equal(1, await SchemaMigrations.ApplyAsync(transaction, [one], Now, Ct));
        }

        await using (var transaction = connection.BeginTransaction(deferred: false))
        {
            Assert.Equal(2, await SchemaMigrations.ApplyAsync(transaction, [one, two], Now, Ct));
        }

        await using (var transaction = connection.BeginTransaction(deferred: false))
        {
            Assert.Equal(2, await SchemaMigrations.ApplyAsync(transaction, [one, two], Now, Ct));
        }

        Assert.Equal(2, await ScalarAsync<long>(connection, "SELECT x FROM one"));
        Assert.Equal(0, await ScalarAsync<long>(connection, "SELECT COUNT(*) FROM two"));
        Assert.Equal("one,two", await ScalarAsync<string>(connection, "SELECT group_concat(name, ',') FROM (SELECT name FROM schema_migrations ORDER BY version)"));
    }

    [Fact]
    public async Task ApplyAsync_FailingMigration_RollsBackEveryPendingMigration()
    {
        var one = new Migration(1, "one", "CREATE TABLE one (x INTEGER)");
        var broken = new Migration(2, "broken", "CREATE TABLE two (x INTEGER); THIS IS NOT SQL;");
        await using var connection = await OpenRawAsync();

        await using (var transaction = connection.BeginTransaction(deferred: false))
        {
            await Assert.ThrowsAsync<SqliteException>(() => SchemaMigrations.ApplyAsync(transaction, [one, broken], Now, Ct));
        }

        Assert.Equal(0, await ScalarAsync<long>(connection, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('one', 'two', 'schema_migrations')"));
    }

    [Fact]
    public async Task ApplyAsync_VersionGap_ThrowsArgumentException()
    {
        await using var connection = await OpenRawAsync();
        await using var transaction = connection.BeginTransaction(deferred: false);

        await Assert.ThrowsAsync<ArgumentException>(() => SchemaMigrations.ApplyAsync(
            transaction, [new Migration(1, "one", "SELECT 1"), new Migration(3, "three", "SELECT 1")], Now, Ct));
    }

    [Fact]
    public async Task InsertAsync_FullJob_WritesDocumentedColumnFormats()
    {
        var store = await OpenStoreAsync();
        var job = TestJobs.Full();
        await store.InsertAsync(job, Ct);

        await using var connection = await OpenRawAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT mode, status, created_at, options, metadata, error, typeof(created_at), version FROM jobs WHERE id = @id";
        command.Parameters.AddWithValue("@id", job.Id);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        Assert.True(await reader.ReadAsync(Ct));

        Assert.Equal("i2v", reader.GetString(0));
        Assert.Equal("failed", reader.GetString(1));
        Assert.Equal(job.CreatedAt.ToUnixTimeMilliseconds(), reader.GetInt64(2));
        Assert.Equal("integer", reader.GetString(6));
        Assert.Equal(1, reader.GetInt64(7));
        using var options = JsonDocument.Parse(reader.GetString(3));
        Assert.Equal("large", options.RootElement.GetProperty("movement_amplitude").GetString());
        using var metadata = JsonDocument.Parse(reader.GetString(4));
        Assert.Equal("A-17", metadata.RootElement.GetProperty("order").GetString());
        using var error = JsonDocument.Parse(reader.GetString(5));
        Assert.Equal(
            ["code", "message", "param", "stage"],
            error.RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("output", error.RootElement.GetProperty("stage").GetString());
    }

    [Fact]
    public async Task ListExpiredSql_QueryPlan_UsesExpiringIndexWithoutSorting()
    {
        await OpenStoreAsync();

        var plan = await QueryPlanAsync(SqliteJobStore.ListExpiredSql);

        Assert.Contains("ix_jobs_expiring", plan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListActiveSql_QueryPlan_UsesActiveIndexWithoutSorting()
    {
        await OpenStoreAsync();

        var plan = await QueryPlanAsync(SqliteJobStore.ListActiveSql);

        Assert.Contains("ix_jobs_active", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", plan, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ListSql_ByOwnerWithCursor_UsesOwnerIndexWithoutSorting(bool ascending)
    {
        await OpenStoreAsync();

        var plan = await QueryPlanAsync(SqliteJobStore.ListSql(byOwner: true, after: true, ascending));

        Assert.Contains("ix_jobs_owner_seq", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN jobs", plan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InitializeAsync_MissingFolder_CreatesIt()
    {
        var path = Path.Combine(_directory.FullName, "nested", "deeper", "reelay.db");
        var store = new SqliteJobStore(new SqliteConnectionStringBuilder { DataSource = path }.ToString());
        _stores.Add(store);

        await store.InitializeAsync(Ct);

        Assert.True(File.Exists(path));
    }

    [Theory]
    [InlineData("Data Source=:memory:")]
    [InlineData("Data Source=reelay;Mode=Memory;Cache=Shared")]
    public void Constructor_InMemoryDatabase_ThrowsArgumentException(string connectionString)
    {
        Assert.Throws<ArgumentException>(() => new SqliteJobStore(connectionString));
    }

    [Fact]
    public async Task GetAsync_AfterDispose_ThrowsObjectDisposedException()
    {
        var store = await OpenStoreAsync();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetAsync(Job.NewId(), Ct));
    }

    private async Task<SqliteJobStore> OpenStoreAsync()
    {
        var store = new SqliteJobStore(ConnectionString, new FakeTimeProvider(Now));
        _stores.Add(store);
        await store.InitializeAsync(Ct);
        return store;
    }

    private async Task<SqliteConnection> OpenRawAsync()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder(ConnectionString) { Pooling = false }.ToString());
        await connection.OpenAsync(Ct);
        return connection;
    }

    private async Task<string> QueryPlanAsync(string sql)
    {
        await using var connection = await OpenRawAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (var name in new[] { "@id", "@owner", "@after", "@take", "@now" })
        {
            if (sql.Contains(name, StringComparison.Ordinal))
            {
                command.Parameters.AddWithValue(name, name is "@take" or "@now" ? 21 : "x");
            }
        }

        await using var reader = await command.ExecuteReaderAsync(Ct);
        var details = new List<string>();
        while (await reader.ReadAsync(Ct))
        {
            details.Add(reader.GetString(3));
        }

        return string.Join("\n", details);
    }

    private static async Task<T> ScalarAsync<T>(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)(await command.ExecuteScalarAsync(Ct))!;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(Ct);
    }
}
