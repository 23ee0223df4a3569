using Microsoft.Extensions.Logging;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Results;

namespace Reelay.Engine;

/// <summary>What finalizing a job's result came to.</summary>
public abstract record FinalizeOutcome
{
    private FinalizeOutcome() { }

    /// <summary>The result was stored and the job recorded as succeeded.</summary>
    public sealed record Stored(Job Job) : FinalizeOutcome;

    /// <summary>The provider's result is not a playable video: the job should fail with <paramref name="Error"/>.</summary>
    public sealed record Unplayable(JobError Error) : FinalizeOutcome;

    /// <summary>The job stopped running meanwhile (cancelled, deadline): the stored result was deleted again.</summary>
    public sealed record Superseded : FinalizeOutcome;
}

/// <summary>
/// Turns a provider's finished result into a succeeded job: downloads it (unless it is a local file), probes it with
/// ffprobe, makes a thumbnail and a spritesheet (each when enabled), uploads all three to the result store, and records the
/// success with its retention through <see cref="JobTransitions"/>. Finalizations are bounded engine-wide
/// (<see cref="EngineOptions.MaxConcurrentFinalizations"/>): a thousand jobs finishing together must not open a thousand
/// downloads and ffmpeg processes at once. Exceptions (a failed download or upload) reach the caller, which polls again later.
/// </summary>
public sealed class ResultFinalizer : IDisposable
{
    private readonly IResultStore _results;
    private readonly IMediaInspector _media;
    private readonly JobTransitions _transitions;
    private readonly TimeProvider _time;
    private readonly StorageOptions _storage;
    private readonly TimeSpan _downloadTimeout;
    private readonly string _tempDirectory;
    private readonly SemaphoreSlim _gate;
    private readonly ILogger _log;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _finalizing = new(StringComparer.Ordinal);

    /// <summary>Creates the finalizer; temporary files go to the data folder's tmp directory.</summary>
    public ResultFinalizer(IResultStore results, IMediaInspector media, JobTransitions transitions, TimeProvider time, ReelayOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _results = results;
        _media = media;
        _transitions = transitions;
        _time = time;
        _storage = options.Storage;
        _downloadTimeout = options.Engine.UpstreamCallTimeout;
        _tempDirectory = Path.Combine(options.DataPath, "tmp");
        _gate = new SemaphoreSlim(options.Engine.MaxConcurrentFinalizations, options.Engine.MaxConcurrentFinalizations);
        _log = logger;
    }

    /// <summary>
    /// Finalizes <paramref name="job"/> (running) from <paramref name="result"/>, downloading through <paramref name="provider"/>.
    /// <paramref name="started"/> runs once a finalization slot is taken, before any work (the engine moves the job's
    /// deadline there); an exception from it ends this attempt like a failed download.
    /// </summary>
    public async Task<FinalizeOutcome> FinalizeAsync(ProviderJob job, IVideoProvider provider, ResultLocation result, CancellationToken cancellationToken, Func<CancellationToken, Task>? started = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(result);
        var id = job.Job.Id;
        _finalizing.AddOrUpdate(id, 1, (_, n) => n + 1);
        try
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (started is not null)
                {
                    await started(cancellationToken).ConfigureAwait(false);
                }

                return await RunAsync(job, provider, result, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
        }
        finally
        {
            if (_finalizing.AddOrUpdate(id, 0, (_, n) => n - 1) <= 0)
            {
                _finalizing.TryRemove(new KeyValuePair<string, int>(id, 0));
            }
        }
    }

    /// <summary>
    /// True while a finalization of the job is waiting for its slot or running in this process. Each attempt is bounded
    /// (the download by the upstream call timeout, ffprobe and ffmpeg by theirs), so the job's deadline waits for it.
    /// </summary>
    public bool IsFinalizing(string jobId) => _finalizing.ContainsKey(jobId);

    private async Task<FinalizeOutcome> RunAsync(ProviderJob providerJob, IVideoProvider provider, ResultLocation result, CancellationToken ct)
    {
        var id = providerJob.Job.Id;
        var videoKey = $"videos/{id}.mp4";
        var thumbKey = $"thumbnails/{id}.webp";
        var spriteKey = $"spritesheets/{id}.webp";
        Directory.CreateDirectory(_tempDirectory);
        var downloaded = Path.Combine(_tempDirectory, $"{id}.download.mp4");
        var thumbnail = Path.Combine(_tempDirectory, $"{id}.thumb.webp");
        var spritesheet = Path.Combine(_tempDirectory, $"{id}.sprite.webp");
        try
        {
            var source = result.Video;
            if (!result.IsLocalFile)
            {
                await using (var file = new FileStream(downloaded, FileMode.Create, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
                {
                    using var timeout = new CancellationTokenSource(_downloadTimeout, _time);
                    using var call = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, ct);
                    await provider.DownloadAsync(providerJob, result, file, call.Token).ConfigureAwait(false);
                }

                source = downloaded;
            }

            var facts = await _media.ProbeAsync(source, ct).ConfigureAwait(false);
            if (facts is null)
            {
                return new FinalizeOutcome.Unplayable(new JobError(ErrorCodes.UpstreamUnavailable, "The provider reported success, but its result is not a playable video."));
            }

            // Reelay:Storage:Thumbnails=false skips the ffmpeg process a thumbnail costs; the thumbnail variant then answers 404.
            var hasThumbnail = _storage.Thumbnails && await _media.CreateThumbnailAsync(source, thumbnail, ct).ConfigureAwait(false);
            var hasSpritesheet = await CreateSpritesheetAsync(id, source, spritesheet, facts.DurationSeconds, ct).ConfigureAwait(false);
            var stored = await _results.PutFileAsync(videoKey, source, "video/mp4", move: true, ct).ConfigureAwait(false);
            if (hasThumbnail)
            {
                await _results.PutFileAsync(thumbKey, thumbnail, "image/webp", move: true, ct).ConfigureAwait(false);
            }

            if (hasSpritesheet)
            {
                await _results.PutFileAsync(spriteKey, spritesheet, "image/webp", move: true, ct).ConfigureAwait(false);
            }

            var retention = _storage.Retention;
            var now = _time.GetUtcNow();
            var done = await _transitions.TryAsync(
                id,
                j => j.Status == JobStatus.Running,
                j => j with
                {
                    Status = JobStatus.Succeeded,
                    Progress = 100,
                    CompletedAt = now,
                    Options = JobOperations.WithUpstreamResult(j.Options, result.UpstreamReference),
                    ExpiresAt = retention > TimeSpan.Zero ? now + retention : null,
                    ResultKey = videoKey,
                    ThumbnailKey = hasThumbnail ? thumbKey : null,
                    SpritesheetKey = hasSpritesheet ? spriteKey : null,
                    ResultBytes = stored.Length,
                    ResultSha256 = stored.Sha256,
                    ResultDurationSeconds = facts.DurationSeconds,
                    ResultWidth = facts.Width > 0 ? facts.Width : null,
                    ResultHeight = facts.Height > 0 ? facts.Height : null,
                },
                ct).ConfigureAwait(false);
            if (done.Updated is null)
            {
                if (done.Current is { Status: JobStatus.Succeeded } won && won.ResultKey == videoKey)
                {
                    // Another finalization of this job (a second poll that saw the same success while the first waited for
                    // a finalization slot) stored it first, under these very keys: deleting them would delete its content.
                    return new FinalizeOutcome.Superseded();
                }

                // Cancelled or timed out meanwhile: the result belongs to nobody.
                await _results.DeleteAsync(videoKey, ct).ConfigureAwait(false);
                await _results.DeleteAsync(thumbKey, ct).ConfigureAwait(false);
                await _results.DeleteAsync(spriteKey, ct).ConfigureAwait(false);
                return new FinalizeOutcome.Superseded();
            }

            EngineLog.JobSucceeded(_log, id, stored.Length, facts.DurationSeconds);
            return new FinalizeOutcome.Stored(done.Updated);
        }
        finally
        {
            TryDelete(downloaded);
            TryDelete(thumbnail);
            TryDelete(spritesheet);
        }
    }

    // A spritesheet is a nicety: failing to make one never fails the job.
    private async Task<bool> CreateSpritesheetAsync(string jobId, string videoPath, string outputPath, double durationSeconds, CancellationToken ct)
    {
        if (!_storage.Spritesheet)
        {
            return false;
        }

        try
        {
            return await _media.CreateSpritesheetAsync(videoPath, outputPath, durationSeconds, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            EngineLog.SpritesheetFailed(_log, ex, jobId);
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <inheritdoc />
    public void Dispose() => _gate.Dispose();
}
