using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Storage;

namespace Reelay.Results;

/// <summary>
/// Deletes expired content. At start and then every <see cref="StorageOptions.SweepInterval"/> (on the injected clock) it
/// asks the job store for jobs whose <see cref="Job.ExpiresAt"/> passed and whose content is still there, deletes their
/// video, thumbnail, spritesheet and input image, and records <see cref="Job.ContentDeletedAt"/> so they are not swept
/// again. Bounded: batches of <see cref="StorageOptions.SweepBatchSize"/> jobs, at most <see cref="MaxBatchesPerSweep"/>
/// per sweep; a job whose delete fails stays listed and is tried again at the next sweep. Expired content already answers
/// 410 before it is swept: the sweeper only reclaims the space.
/// </summary>
public sealed partial class ResultSweeper : BackgroundService
{
    /// <summary>Batches one sweep runs at most.</summary>
    public const int MaxBatchesPerSweep = 10;

    private readonly IJobStore _store;
    private readonly IResultStore _results;
    private readonly StorageOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly JobTransitions _transitions;

    /// <summary>Creates the sweeper; it records deletions through <paramref name="transitions"/> (the engine's write path) when given.</summary>
    public ResultSweeper(IJobStore store, IResultStore results, ReelayOptions options, TimeProvider time, ILogger<ResultSweeper> logger, JobTransitions? transitions = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _results = results;
        _options = options.Storage;
        _time = time;
        _log = logger;
        _transitions = transitions ?? new JobTransitions(store, time);
    }

    /// <summary>Runs one sweep now; returns how many jobs' content it deleted.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var swept = 0;
        for (var batch = 0; batch < MaxBatchesPerSweep; batch++)
        {
            var now = _time.GetUtcNow();
            var jobs = await _store.ListExpiredAsync(now, _options.SweepBatchSize, cancellationToken).ConfigureAwait(false);
            var done = 0;
            foreach (var job in jobs)
            {
                if (await SweepJobAsync(job, now, cancellationToken).ConfigureAwait(false))
                {
                    done++;
                }
            }

            swept += done;
            // A short batch was the last; a batch where nothing could be deleted would only repeat itself.
            if (jobs.Count < _options.SweepBatchSize || done == 0)
            {
                break;
            }
        }

        if (swept > 0)
        {
            SweeperLog.Swept(_log, swept);
        }

        return swept;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                SweeperLog.SweepFailed(_log, ex);
            }

            try
            {
                await Task.Delay(_options.SweepInterval, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<bool> SweepJobAsync(Job job, DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var key in JobEngine.ContentKeys(job))
            {
                await _results.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            SweeperLog.DeleteFailed(_log, ex, job.Id);
            return false;
        }

        try
        {
            var recorded = await _transitions.TryAsync(job.Id, j => j.ContentDeletedAt is null && j.DeletedAt is null, j => j with { ContentDeletedAt = now }, cancellationToken).ConfigureAwait(false);
            if (recorded.Applied)
            {
                SweeperLog.ContentDeleted(_log, job.Id, job.ExpiresAt);
            }

            // Not applied: it was deleted, or its deletion recorded, meanwhile; either way it is done.
            return true;
        }
        catch (JobContentionException)
        {
            return false;
        }
    }

    private static partial class SweeperLog
    {
        [LoggerMessage(LogEventIds.Results + 20, LogLevel.Information, "Deleted the expired content of job {JobId} (expired at {ExpiresAt})")]
        public static partial void ContentDeleted(ILogger logger, string jobId, DateTimeOffset? expiresAt);

        [LoggerMessage(LogEventIds.Results + 21, LogLevel.Warning, "Could not delete the expired content of job {JobId}; the next sweep tries again")]
        public static partial void DeleteFailed(ILogger logger, Exception exception, string jobId);

        [LoggerMessage(LogEventIds.Results + 22, LogLevel.Error, "The retention sweep failed; the next sweep tries again")]
        public static partial void SweepFailed(ILogger logger, Exception exception);

        [LoggerMessage(LogEventIds.Results + 23, LogLevel.Information, "Retention sweep deleted the content of {Count} job(s)")]
        public static partial void Swept(ILogger logger, int count);
    }
}
