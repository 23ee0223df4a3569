using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Reelay.Jobs;
using Reelay.Results;
using Reelay.Storage.Sqlite;
using Reelay.Tests.Storage;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Results;

/// <summary>The retention sweeper over a real SQLite store and the local-disk store, on a fake clock.</summary>
public sealed class ResultSweeperTests : IAsyncLifetime
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "reelay-sweeper-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ReelayOptions _options = new();
    private SqliteJobStore _store = null!;
    private LocalResultStore _results = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteJobStore(SqliteJobStore.DefaultConnectionString(_directory), _clock);
        await _store.InitializeAsync(Ct);
        _results = new LocalResultStore(Path.Combine(_directory, "files"));
        _options.Storage.SweepBatchSize = 2;
        _options.Storage.SweepInterval = TimeSpan.FromMinutes(5);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<Job> StoredJobAsync(TimeSpan expiresIn)
    {
        var job = TestJobs.New(status: JobStatus.Succeeded) with { CreatedAt = _clock.GetUtcNow(), UpdatedAt = _clock.GetUtcNow() };
        job = job with
        {
            ExpiresAt = _clock.GetUtcNow() + expiresIn,
            ResultKey = $"videos/{job.Id}.mp4",
            ThumbnailKey = $"thumbnails/{job.Id}.jpg",
            SpritesheetKey = $"spritesheets/{job.Id}.jpg",
            InputImageKey = $"inputs/{job.Id}.png",
        };
        foreach (var key in new[] { job.ResultKey, job.ThumbnailKey, job.SpritesheetKey, job.InputImageKey })
        {
            await _results.PutAsync(key, new MemoryStream([1, 2, 3]), "application/octet-stream", Ct);
        }

        return await _store.InsertAsync(job, Ct);
    }

    private async Task<bool> AnyContentAsync(Job job)
    {
        foreach (var key in new[] { job.ResultKey!, job.ThumbnailKey!, job.SpritesheetKey!, job.InputImageKey! })
        {
            if (await _results.OpenAsync(key, Ct) is not null)
            {
                return true;
            }
        }

        return false;
    }

    [Fact]
    public async Task SweepOnceAsync_ExpiredAndLiveJobs_DeletesOnlyExpiredContentAndRecordsIt()
    {
        var sweeper = new ResultSweeper(_store, _results, _options, _clock, NullLogger<ResultSweeper>.Instance);
        var expired = new List<Job>();
        for (var i = 0; i < 5; i++)
        {
            expired.Add(await StoredJobAsync(TimeSpan.FromHours(1)));
        }

        var live = await StoredJobAsync(TimeSpan.FromDays(2));

        var early = await sweeper.SweepOnceAsync(Ct);
        _clock.Advance(TimeSpan.FromHours(1));
        var swept = await sweeper.SweepOnceAsync(Ct);
        var again = await sweeper.SweepOnceAsync(Ct);

        Assert.Equal(0, early);
        Assert.Equal(5, swept);
        Assert.Equal(0, again);
        foreach (var job in expired)
        {
            Assert.False(await AnyContentAsync(job));
            Assert.Equal(_clock.GetUtcNow(), (await _store.GetAsync(job.Id, Ct))!.ContentDeletedAt);
        }

        Assert.True(await AnyContentAsync(live));
        Assert.Null((await _store.GetAsync(live.Id, Ct))!.ContentDeletedAt);
    }

    [Fact]
    public async Task ExecuteAsync_ClockPassesExpiry_SweepsAtTheNextInterval()
    {
        using var sweeper = new ResultSweeper(_store, _results, _options, _clock, NullLogger<ResultSweeper>.Instance);
        var job = await StoredJobAsync(TimeSpan.FromMinutes(7));
        await sweeper.StartAsync(Ct);
        try
        {
            _clock.Advance(TimeSpan.FromMinutes(5));
            await Task.Delay(200);
            Assert.True(await AnyContentAsync(job));

            _clock.Advance(TimeSpan.FromMinutes(5));
            await Eventually.TrueAsync(async () => (await _store.GetAsync(job.Id, Ct))!.ContentDeletedAt is not null, "the sweeper records the deletion");

            Assert.False(await AnyContentAsync(job));
        }
        finally
        {
            await sweeper.StopAsync(Ct);
        }
    }

    [Fact]
    public async Task SweepOnceAsync_StoreCannotDelete_LeavesJobListedForTheNextSweep()
    {
        var failing = new FailingDeleteStore(_results);
        var sweeper = new ResultSweeper(_store, failing, _options, _clock, NullLogger<ResultSweeper>.Instance);
        var job = await StoredJobAsync(TimeSpan.FromMinutes(1));
        _clock.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(0, await sweeper.SweepOnceAsync(Ct));
        Assert.Null((await _store.GetAsync(job.Id, Ct))!.ContentDeletedAt);

        failing.Fail = false;
        Assert.Equal(1, await sweeper.SweepOnceAsync(Ct));
        Assert.False(await AnyContentAsync(job));
    }

    private sealed class FailingDeleteStore(IResultStore inner) : IResultStore
    {
        public bool Fail { get; set; } = true;

        public Task<StoredObject> PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken) => inner.PutAsync(key, content, contentType, cancellationToken);

        public Task<StoredObject> PutFileAsync(string key, string localPath, string contentType, bool move, CancellationToken cancellationToken) => inner.PutFileAsync(key, localPath, contentType, move, cancellationToken);

        public Task<StoredContent?> OpenAsync(string key, CancellationToken cancellationToken) => inner.OpenAsync(key, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
            Fail ? throw new IOException("storage unreachable (test)") : inner.DeleteAsync(key, cancellationToken);
    }
}
