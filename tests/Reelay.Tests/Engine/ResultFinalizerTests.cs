using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Tests.Storage;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Engine;

/// <summary>Finalization on its own: fakes for the provider download, the media inspector (no ffmpeg) and the stores.</summary>
public sealed class ResultFinalizerTests : IDisposable
{
    private static readonly ResultLocation Upstream = new("https://upstream.invalid/v.mp4", false);
    private readonly FakeTimeProvider _clock = new(TestJobs.Epoch);
    private readonly InMemoryJobStore _store = new();
    private readonly InMemoryResultStore _results = new();
    private readonly FakeMediaInspector _media = new();
    private readonly RecordingObserver _observer = new();
    private readonly ReelayOptions _options = new() { DataDirectory = Path.Combine(Path.GetTempPath(), "reelay-finalizer-" + Guid.NewGuid().ToString("N")) };
    private readonly FakeProvider _provider;

    public ResultFinalizerTests() => _provider = new FakeProvider(_clock);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_options.DataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private ResultFinalizer Finalizer() => new(_results, _media, new JobTransitions(_store, _clock, new JobObservers([_observer])), _clock, _options, NullLogger.Instance);

    private async Task<ProviderJob> RunningJobAsync()
    {
        var job = await _store.InsertAsync(TestJobs.New(status: JobStatus.Running) with { UpstreamId = "up-1", Progress = 60 }, CancellationToken.None);
        return new ProviderJob { Job = job, UpstreamModel = "sandbox" };
    }

    [Fact]
    public async Task FinalizeAsync_UpstreamResult_StoresVideoThumbnailSpritesheetAndRecordsSuccess()
    {
        var job = await RunningJobAsync();
        using var finalizer = Finalizer();

        var outcome = await finalizer.FinalizeAsync(job, _provider, Upstream, CancellationToken.None);

        var stored = Assert.IsType<FinalizeOutcome.Stored>(outcome).Job;
        Assert.Equal(JobStatus.Succeeded, stored.Status);
        Assert.Equal(100, stored.Progress);
        Assert.Equal($"videos/{stored.Id}.mp4", stored.ResultKey);
        Assert.Equal("fake mp4 bytes"u8.ToArray(), _results.Objects[stored.ResultKey!]);
        Assert.Equal("thumbnail"u8.ToArray(), _results.Objects[stored.ThumbnailKey!]);
        Assert.Equal("spritesheet"u8.ToArray(), _results.Objects[stored.SpritesheetKey!]);
        Assert.Equal(14, stored.ResultBytes);
        Assert.Equal((4, 320, 240), (stored.ResultDurationSeconds, stored.ResultWidth, stored.ResultHeight));
        Assert.Equal(_clock.GetUtcNow() + _options.Storage.Retention, stored.ExpiresAt);
        Assert.Equal(JobStatus.Succeeded, Assert.Single(_observer.Changes).Current.Status);
        Assert.Empty(Directory.GetFiles(Path.Combine(_options.DataPath, "tmp"))); // Temporary files are gone.
    }

    [Fact]
    public async Task FinalizeAsync_RetentionZero_KeepsForever()
    {
        _options.Storage.Retention = TimeSpan.Zero;
        using var finalizer = Finalizer();

        var outcome = await finalizer.FinalizeAsync(await RunningJobAsync(), _provider, Upstream, CancellationToken.None);

        Assert.Null(Assert.IsType<FinalizeOutcome.Stored>(outcome).Job.ExpiresAt);
    }

    [Fact]
    public async Task FinalizeAsync_SpritesheetsOff_StoresNone()
    {
        _options.Storage.Spritesheet = false;
        using var finalizer = Finalizer();

        var stored = Assert.IsType<FinalizeOutcome.Stored>(await finalizer.FinalizeAsync(await RunningJobAsync(), _provider, Upstream, CancellationToken.None)).Job;

        Assert.Null(stored.SpritesheetKey);
        Assert.DoesNotContain(_results.Objects.Keys, k => k.StartsWith("spritesheets/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FinalizeAsync_SpritesheetThrows_SucceedsWithoutOne()
    {
        _media.OnSpritesheet = _ => throw new InvalidOperationException("ffmpeg broke (test)");
        using var finalizer = Finalizer();

        var stored = Assert.IsType<FinalizeOutcome.Stored>(await finalizer.FinalizeAsync(await RunningJobAsync(), _provider, Upstream, CancellationToken.None)).Job;

        Assert.Null(stored.SpritesheetKey);
        Assert.NotNull(stored.ResultKey);
    }

    [Fact]
    public async Task FinalizeAsync_LocalFileThatIsNotAVideo_IsUnplayableAndStoresNothing()
    {
        var path = Path.Combine(Path.GetTempPath(), "reelay-finalizer-broken-" + Guid.NewGuid().ToString("N") + ".mp4");
        await File.WriteAllTextAsync(path, "broken bytes");
        using var finalizer = Finalizer();
        try
        {
            var outcome = await finalizer.FinalizeAsync(await RunningJobAsync(), _provider, new ResultLocation(path, IsLocalFile: true), CancellationToken.None);

            Assert.Equal(ErrorCodes.UpstreamUnavailable, Assert.IsType<FinalizeOutcome.Unplayable>(outcome).Error.Code);
            Assert.Empty(_results.Objects);
            Assert.Empty(_observer.Changes);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task FinalizeAsync_JobCancelledMeanwhile_DeletesWhatItStored()
    {
        var job = await RunningJobAsync();
        Assert.NotNull(await _store.TryUpdateAsync(job.Job with { Status = JobStatus.Cancelled }, CancellationToken.None));
        using var finalizer = Finalizer();

        var outcome = await finalizer.FinalizeAsync(job, _provider, Upstream, CancellationToken.None);

        Assert.IsType<FinalizeOutcome.Superseded>(outcome);
        Assert.Empty(_results.Objects);
    }

    [Fact]
    public async Task FinalizeAsync_DownloadFails_ThrowsAndLeavesTheJobRunning()
    {
        var job = await RunningJobAsync();
        using var finalizer = Finalizer();

        await Assert.ThrowsAsync<HttpRequestException>(() => finalizer.FinalizeAsync(job, new FailingDownload(_provider), Upstream, CancellationToken.None));

        Assert.Equal(JobStatus.Running, (await _store.GetAsync(job.Job.Id, CancellationToken.None))!.Status);
        Assert.Empty(_results.Objects);
    }

    private sealed class FailingDownload(FakeProvider inner) : IVideoProvider
    {
        public string Name => inner.Name;

        public int MaxConcurrentJobs => inner.MaxConcurrentJobs;

        public PollSchedule PollSchedule => inner.PollSchedule;

        public string? CheckSupport(Job job, string upstreamModel) => null;

        public Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken) => inner.ProbeAsync(cancellationToken);

        public Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken) => inner.SubmitAsync(job, cancellationToken);

        public Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken) => inner.PollAsync(job, cancellationToken);

        public Task<RecoveryOutcome> RecoverSubmitAsync(ProviderJob job, CancellationToken cancellationToken) => inner.RecoverSubmitAsync(job, cancellationToken);

        public Task CancelAsync(ProviderJob job, CancellationToken cancellationToken) => inner.CancelAsync(job, cancellationToken);

        public Task DownloadAsync(ProviderJob job, ResultLocation result, Stream destination, CancellationToken cancellationToken) =>
            throw new HttpRequestException("download failed (test)");
    }
}
