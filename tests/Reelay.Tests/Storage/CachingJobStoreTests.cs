using Reelay.Jobs;
using Reelay.Storage;
using Reelay.Storage.Sqlite;

namespace Reelay.Tests.Storage;

/// <summary>The store contract, run unchanged through the write-through cache over SQLite.</summary>
public sealed class CachingJobStoreContractTests : JobStoreContractTests, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "reelay-cache-" + Guid.NewGuid().ToString("N"));

    private string ConnectionString => SqliteJobStore.DefaultConnectionString(_directory);

    protected override async Task<IJobStore> CreateStoreAsync()
    {
        var store = new CachingJobStore(new SqliteJobStore(ConnectionString), capacity: 64);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    protected override Task<IJobStore> ReopenStoreAsync() => CreateStoreAsync();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

public sealed class CachingJobStoreTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "reelay-cache-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Get_AfterWriteElsewhere_StaysStaleUntilOwnWriteLosesThenReloads()
    {
        var sqlite = new SqliteJobStore(SqliteJobStore.DefaultConnectionString(_directory));
        await sqlite.InitializeAsync(CancellationToken.None);
        var cache = new CachingJobStore(sqlite, 16);
        var job = await cache.InsertAsync(TestJobs.New(), CancellationToken.None);

        var other = await sqlite.TryUpdateAsync(job with { Progress = 50 }, CancellationToken.None);
        Assert.NotNull(other);
        Assert.Equal(0, (await cache.GetAsync(job.Id, CancellationToken.None))!.Progress);

        Assert.Null(await cache.TryUpdateAsync(job with { Progress = 10 }, CancellationToken.None));
        Assert.Equal(50, (await cache.GetAsync(job.Id, CancellationToken.None))!.Progress);
    }

    [Fact]
    public async Task Remember_OlderVersionArrivingLate_NeverReplacesNewer()
    {
        var sqlite = new SqliteJobStore(SqliteJobStore.DefaultConnectionString(_directory));
        await sqlite.InitializeAsync(CancellationToken.None);
        var cache = new CachingJobStore(sqlite, 16);
        var v1 = await cache.InsertAsync(TestJobs.New(), CancellationToken.None);
        var v2 = await cache.TryUpdateAsync(v1 with { Status = JobStatus.Running }, CancellationToken.None);
        var v3 = await cache.TryUpdateAsync(v2! with { Status = JobStatus.Succeeded }, CancellationToken.None);

        // A slow reader that loaded version 2 before the last write finishes after it: it must not put version 2 back.
        cache.Remember(v2!);
        var current = await cache.GetAsync(v1.Id, CancellationToken.None);
        Assert.Equal((JobStatus.Succeeded, 3L), (current!.Status, current.Version));
    }

    [Fact]
    public async Task Capacity_Exceeded_TrimsFinishedJobsFirst()
    {
        var sqlite = new SqliteJobStore(SqliteJobStore.DefaultConnectionString(_directory));
        await sqlite.InitializeAsync(CancellationToken.None);
        var cache = new CachingJobStore(sqlite, 100);
        var running = new List<string>();
        for (var i = 0; i < 600; i++)
        {
            var job = await cache.InsertAsync(TestJobs.New() with { Status = i % 10 == 0 ? JobStatus.Running : JobStatus.Succeeded }, CancellationToken.None);
            if (job.Status == JobStatus.Running)
            {
                running.Add(job.Id);
            }
        }

        Assert.InRange(cache.Count, 1, 100 + 256);
        foreach (var id in running)
        {
            Assert.NotNull(await cache.GetAsync(id, CancellationToken.None));
        }
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
