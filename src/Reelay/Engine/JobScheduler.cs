using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.Http;
using Reelay.Routing;
using Reelay.Results;
using Reelay.Storage;

namespace Reelay.Engine;

/// <summary>
/// Owns time and in-flight state. Per provider instance: a FIFO queue of waiting jobs and a concurrency limit
/// (a job holds a slot from submitting until it is terminal). One timer heap drives every running job's poll on its
/// own adaptive, jittered schedule, plus deadlines and submit retries. Every state change is a compare-and-set in the
/// store; the in-memory part is small (ids and timer entries) and is rebuilt from the store at start-up.
/// </summary>
public sealed class JobScheduler : IAsyncDisposable
{
    private readonly IJobStore _store;
    private readonly IResultStore _results;
    private readonly IJobRouter _router;
    private readonly IMediaInspector _media;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly EngineOptions _options;
    private readonly Results.StorageOptions _storage;
    private readonly string _tempDirectory;
    private readonly JobObservers _observers;
    private readonly SemaphoreSlim _finalizeGate;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private readonly PriorityQueue<TimerItem, DateTimeOffset> _timers = new();
    private readonly ConcurrentDictionary<Task, byte> _background = new();
    private readonly CancellationTokenSource _stopping = new();

    // While jobs caught in submitting are being recovered: the upstream ids jobs own per provider, so that a heuristic
    // lookup never adopts another job's task. Empty otherwise (it costs nothing per running job in normal operation).
    private readonly ConcurrentDictionary<(string Provider, string UpstreamId), string> _claims = new();
    private int _recovering;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset _nextWake = DateTimeOffset.MaxValue;
    private Task? _loop;

    /// <summary>Creates the scheduler.</summary>
    public JobScheduler(IJobStore store, IResultStore results, IJobRouter router, IMediaInspector media, TimeProvider time, ReelayOptions options, ILogger<JobScheduler> logger, JobObservers? observers = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(router);
        _store = store;
        _results = results;
        _router = router;
        _media = media;
        _time = time;
        _log = logger;
        _options = options.Engine;
        _storage = options.Storage;
        _tempDirectory = Path.Combine(options.DataPath, "tmp");
        _observers = observers ?? JobObservers.None;
        _finalizeGate = new SemaphoreSlim(_options.MaxConcurrentFinalizations, _options.MaxConcurrentFinalizations);
        foreach (var provider in router.Providers)
        {
            _lanes[provider.Name] = new Lane(provider, _options.MaxConcurrentPollsPerProvider);
        }
    }

    private enum TimerKind : byte
    {
        Poll,
        Deadline,
        Resubmit,
        Recover,
    }

    private readonly record struct TimerItem(string JobId, TimerKind Kind, int Attempt);

    private sealed class Lane(IVideoProvider provider, int maxPolls)
    {
        public IVideoProvider Provider { get; } = provider;
        public LinkedList<string> Queue { get; } = new();
        public Dictionary<string, LinkedListNode<string>> Nodes { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Holders { get; } = new(StringComparer.Ordinal);
        public SemaphoreSlim PollGate { get; } = new(maxPolls, maxPolls);
    }

    /// <summary>Recovers unfinished jobs from the store and starts the timer loop.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_tempDirectory);
        var active = await _store.ListActiveAsync(cancellationToken).ConfigureAwait(false);
        ReelayTelemetry.JobsRecovered(active);
        int queued = 0, submitting = 0, running = 0;
        if (active.Any(j => j.Status == JobStatus.Submitting))
        {
            _recovering = active.Count(j => j.Status == JobStatus.Submitting);
            foreach (var owned in active.Where(j => j is { Status: JobStatus.Running, Provider: not null, UpstreamId: not null }))
            {
                _claims.TryAdd((owned.Provider!, owned.UpstreamId!), owned.Id);
            }
        }

        foreach (var job in active)
        {
            ScheduleDeadline(job);

            // A submit caught in flight is looked up on the deployment it recorded, never on a new plan.
            var provider = job is { Status: JobStatus.Submitting, HasCallInFlight: true } ? job.SubmitCall!.Provider : job.Provider;
            var lane = provider is null ? null : LaneOf(provider);
            if (lane is null)
            {
                await FailAsync(job.Id, new JobError(ErrorCodes.UpstreamUnavailable, $"The provider '{provider}' that this job was routed to is no longer configured."), cancellationToken).ConfigureAwait(false);
                if (job.Status == JobStatus.Submitting)
                {
                    EndRecovery();
                }

                continue;
            }

            switch (job.Status)
            {
                case JobStatus.Queued:
                    queued++;
                    Enqueue(job);
                    break;
                case JobStatus.Submitting:
                    submitting++;
                    lock (_gate)
                    {
                        lane.Holders.Add(job.Id);
                    }

                    Spawn(job.Id, () => RecoverSubmittingAsync(job, lane));
                    break;
                case JobStatus.Running:
                    running++;
                    lock (_gate)
                    {
                        lane.Holders.Add(job.Id);
                    }

                    SchedulePoll(job.Id, _time.GetUtcNow(), 0);
                    break;
            }
        }

        if (active.Count > 0)
        {
            EngineLog.Recovered(_log, active.Count, queued, submitting, running);
        }

        _loop = Task.Run(() => TimerLoopAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>Stops the loop and waits for in-flight work. Jobs keep their stored state and continue after the next start.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        var pending = _background.Keys.ToList();
        if (_loop is not null)
        {
            pending.Add(_loop);
        }

        try
        {
            await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutdown deadline reached: stored state is consistent; what was in flight is recovered at next start.
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    /// <summary>Jobs waiting in a provider queue and jobs holding a slot, for diagnostics and benchmarks.</summary>
    public (int Queued, int Active, int Timers) Counts()
    {
        lock (_gate)
        {
            return (_lanes.Values.Sum(l => l.Queue.Count), _lanes.Values.Sum(l => l.Holders.Count), _timers.Count);
        }
    }

    /// <summary>Puts a newly stored (or recovered) queued job in its provider's queue and its deadline on the clock.</summary>
    public void Admit(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        ScheduleDeadline(job);
        Enqueue(job);
    }

    /// <summary>1-based position in the provider queue, or null when the job is not waiting in one.</summary>
    public int? QueuePosition(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Status != JobStatus.Queued || job.Provider is null)
        {
            return null;
        }

        lock (_gate)
        {
            if (!_lanes.TryGetValue(job.Provider, out var lane) || !lane.Nodes.TryGetValue(job.Id, out var node))
            {
                return null;
            }

            var position = 1;
            for (var n = lane.Queue.First; n is not null && n != node; n = n.Next)
            {
                position++;
            }

            return position;
        }
    }

    /// <summary>Cancels a job in any non-terminal state; returns the stored result (unchanged when already terminal).</summary>
    public async Task<Job> CancelAsync(string jobId, JobError reason, CancellationToken cancellationToken)
    {
        var (updated, current) = await TransitionAsync(
            jobId,
            j => !j.Status.IsTerminal(),
            j => j with { Status = JobStatus.Cancelled, Error = reason, CompletedAt = _time.GetUtcNow() },
            cancellationToken).ConfigureAwait(false);
        if (updated is null)
        {
            return current ?? throw ReelayException.JobNotFound(jobId);
        }

        EngineLog.JobCancelled(_log, jobId);
        LeaveLane(updated);
        return updated;
    }

    private async Task CancelUpstreamAsync(Lane lane, Job job)
    {
        try
        {
            using var call = UpstreamCall();
            await lane.Provider.CancelAsync(ToProviderJob(job), call.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            EngineLog.ProviderThrew(_log, ex, lane.Provider.Name, "cancel", job.Id);
        }
        finally
        {
            Release(lane, job.Id);
        }
    }

    private Lane? LaneOf(string provider)
    {
        lock (_gate)
        {
            return _lanes.GetValueOrDefault(provider);
        }
    }

    private void Enqueue(Job job, bool front = false)
    {
        var lane = LaneOf(job.Provider!) ?? throw new InvalidOperationException($"No provider lane '{job.Provider}'.");
        lock (_gate)
        {
            if (!lane.Nodes.ContainsKey(job.Id) && !lane.Holders.Contains(job.Id))
            {
                lane.Nodes[job.Id] = front ? lane.Queue.AddFirst(job.Id) : lane.Queue.AddLast(job.Id);
            }
        }

        EngineLog.JobQueued(_log, job.Id, job.Provider!, job.Model);
        Dispatch(lane);
    }

    private void Dispatch(Lane lane)
    {
        List<string>? start = null;
        lock (_gate)
        {
            while (lane.Holders.Count < lane.Provider.MaxConcurrentJobs && lane.Queue.First is { } first)
            {
                lane.Queue.RemoveFirst();
                lane.Nodes.Remove(first.Value);
                lane.Holders.Add(first.Value);
                (start ??= []).Add(first.Value);
            }
        }

        foreach (var id in start ?? [])
        {
            Spawn(id, () => SubmitAsync(id, lane));
        }
    }

    private void Release(Lane lane, string jobId)
    {
        bool released;
        lock (_gate)
        {
            released = lane.Holders.Remove(jobId);
        }

        if (released)
        {
            Dispatch(lane);
        }
    }

    private async Task SubmitAsync(string jobId, Lane lane)
    {
        var ct = _stopping.Token;
        var (job, current) = await TransitionAsync(
            jobId,
            j => j.Status == JobStatus.Queued && j.DeletedAt is null,
            j => j with { Status = JobStatus.Submitting, SubmitAttempts = j.SubmitAttempts + 1 },
            ct).ConfigureAwait(false);
        if (job is null)
        {
            Release(lane, jobId);
            return;
        }

        using var span = ReelayTelemetry.StartSubmit(job, lane.Provider.Name);
        SubmitOutcome outcome;
        var attempt = job.SubmitAttempts;
        var reference = job.ClientReference(attempt);
        try
        {
            using var call = UpstreamCall();

            // The call is recorded on the job right before its request leaves (after rate-limit waits and first-frame
            // work), so a restart can tell a job that never reached the upstream from one that may have.
            using var send = SubmitSend.Begin(token => RecordSubmitCallAsync(job, lane.Provider.Name, attempt, reference, token));
            try
            {
                outcome = await lane.Provider.SubmitAsync(ToProviderJob(job, reference), call.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                outcome = new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamTimeout, $"The provider did not answer the submit within {_options.UpstreamCallTimeout.TotalSeconds:0} s."));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return; // Shutting down: the job stays 'submitting' and is recovered at the next start.
        }
        catch (SubmitAbandonedException)
        {
            Release(lane, jobId); // Cancelled (or failed by its deadline) before its request was sent: nothing went upstream.
            return;
        }
        catch (Exception ex)
        {
            EngineLog.ProviderThrew(_log, ex, lane.Provider.Name, "submit", jobId);
            outcome = new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamUnavailable, "The provider could not be reached."));
        }

        ReelayTelemetry.SubmitAnswered(span, outcome);
        switch (outcome)
        {
            case SubmitOutcome.Accepted accepted:
                await OnAcceptedAsync(job, lane, accepted.UpstreamId).ConfigureAwait(false);
                break;
            case SubmitOutcome.Rejected rejected when UpstreamErrors.IsDeploymentSpecific(rejected.Error.Code) && job.SubmitAttempts < _options.MaxSubmitAttempts && _router.NextAfter(job) is { } next:
                await FailOverAsync(job, lane, next, rejected.Error, ct).ConfigureAwait(false);
                break;
            case SubmitOutcome.Rejected rejected:
                await FailAsync(jobId, rejected.Error, ct).ConfigureAwait(false);
                Release(lane, jobId);
                break;
            case SubmitOutcome.RetryLater retry when job.SubmitAttempts >= _options.MaxSubmitAttempts:
                await FailAsync(jobId, retry.Reason, ct).ConfigureAwait(false);
                Release(lane, jobId);
                break;
            case SubmitOutcome.RetryLater retry when _router.NextAfter(job) is { } next:
                await FailOverAsync(job, lane, next, retry.Reason, ct).ConfigureAwait(false);
                break;
            case SubmitOutcome.RetryLater retry:
                // Every deployment was tried (or there is one): back off, then start again from the first.
                var delay = retry.After ?? Backoff(_options.SubmitRetryDelay, job.SubmitAttempts - 1, TimeSpan.FromMinutes(2));
                EngineLog.SubmitRetry(_log, jobId, lane.Provider.Name, delay, retry.Reason.Message);
                var first = _router.First(job);
                await TransitionAsync(
                    jobId,
                    j => j.Status == JobStatus.Submitting,
                    j => first is null ? j with { Status = JobStatus.Queued } : j with { Status = JobStatus.Queued, Provider = first.Provider.Name, UpstreamModel = first.UpstreamModel, Note = first.Note },
                    ct).ConfigureAwait(false);
                Release(lane, jobId);
                AddTimer(new TimerItem(jobId, TimerKind.Resubmit, 0), _time.GetUtcNow() + delay);
                break;
        }
    }

    /// <summary>Durably records the submit call about to be sent; throws <see cref="SubmitAbandonedException"/> when the job is no longer being submitted.</summary>
    private async Task RecordSubmitCallAsync(Job job, string provider, int attempt, string reference, CancellationToken ct)
    {
        var (recorded, _) = await TransitionAsync(
            job.Id,
            j => j.Status == JobStatus.Submitting && j.SubmitAttempts == attempt && j.DeletedAt is null,
            j => j with { SubmitCall = new SubmitCall(attempt, provider, j.UpstreamModel ?? j.Model, reference, _time.GetUtcNow()) },
            ct).ConfigureAwait(false);
        if (recorded is null)
        {
            throw new SubmitAbandonedException(job.Id);
        }
    }

    /// <summary>The upstream did not accept the job: move it, still queued, to the next deployment's lane at once.</summary>
    private async Task FailOverAsync(Job job, Lane lane, JobRoute next, JobError reason, CancellationToken ct)
    {
        EngineLog.FailedOver(_log, job.Id, lane.Provider.Name, next.Provider.Name, reason.Code);
        var (moved, _) = await TransitionAsync(
            job.Id,
            j => j.Status == JobStatus.Submitting,
            j => j with { Status = JobStatus.Queued, Provider = next.Provider.Name, UpstreamModel = next.UpstreamModel, Note = next.Note },
            ct).ConfigureAwait(false);
        Release(lane, job.Id);
        if (moved is not null)
        {
            Enqueue(moved, front: true);
        }
    }

    private async Task OnAcceptedAsync(Job job, Lane lane, string upstreamId)
    {
        var ct = _stopping.Token;
        EngineLog.JobAccepted(_log, job.Id, lane.Provider.Name, upstreamId);
        if (Volatile.Read(ref _recovering) > 0)
        {
            _claims.TryAdd((lane.Provider.Name, upstreamId), job.Id);
        }

        var (running, current) = await TransitionAsync(
            job.Id,
            j => j.Status == JobStatus.Submitting,
            j => j with { Status = JobStatus.Running, UpstreamId = upstreamId, StartedAt = _time.GetUtcNow(), Progress = 0 },
            ct).ConfigureAwait(false);
        if (running is null)
        {
            // Cancelled (or failed by its deadline) while the submit was in flight: stop it upstream too.
            await CancelUpstreamAsync(lane, job with { UpstreamId = upstreamId }).ConfigureAwait(false);
            return;
        }

        SchedulePoll(job.Id, _time.GetUtcNow() + Interval(lane.Provider.PollSchedule, 0), 0);
    }

    private async Task RecoverSubmittingAsync(Job job, Lane lane)
    {
        var ct = _stopping.Token;
        var step = SubmitRecovery.Plan(job);
        if (step is RecoveryStep.LookUp)
        {
            RecoveryOutcome outcome;
            try
            {
                var claimed = _claims.Where(c => c.Key.Provider == lane.Provider.Name && c.Value != job.Id).Select(c => c.Key.UpstreamId).ToHashSet(StringComparer.Ordinal);
                using var call = UpstreamCall();
                outcome = await lane.Provider.RecoverSubmitAsync(ToProviderJob(job, job.SubmitCall!.Reference, claimed), call.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                EngineLog.ProviderThrew(_log, ex, lane.Provider.Name, "recover", job.Id);
                outcome = new RecoveryOutcome.Unknown();
            }

            // Two jobs must never adopt one upstream task: the first claim wins, the other cannot tell.
            var claimedByAnother = outcome is RecoveryOutcome.Found found && _claims.GetOrAdd((lane.Provider.Name, found.UpstreamId), job.Id) != job.Id;
            EngineLog.RecoveredSubmitting(_log, job.Id, lane.Provider.Name, claimedByAnother ? "Found (claimed by another job)" : outcome.GetType().Name);
            step = SubmitRecovery.After(job, outcome, _time.GetUtcNow(), _options.UpstreamCallTimeout, claimedByAnother);
        }

        switch (step)
        {
            case RecoveryStep.Adopt adopt:
                await OnAcceptedAsync(job, lane, adopt.UpstreamId).ConfigureAwait(false);
                break;
            case RecoveryStep.LookAgain again:
                // Still holding its slot: the interrupted call could still be creating the task upstream.
                AddTimer(new TimerItem(job.Id, TimerKind.Recover, 0), again.At);
                return;
            case RecoveryStep.Requeue requeue:
                EngineLog.RequeuedAfterRestart(_log, job.Id, lane.Provider.Name, requeue.Reason);
                var (requeued, _) = await TransitionAsync(job.Id, j => j.Status == JobStatus.Submitting, j => j with { Status = JobStatus.Queued }, ct).ConfigureAwait(false);
                Release(lane, job.Id);
                if (requeued is not null)
                {
                    Enqueue(requeued, front: true);
                }

                break;
            default:
                await FailAsync(job.Id, new JobError(ErrorCodes.SubmitOutcomeUnknown, "Reelay restarted while submitting this job, and the provider cannot tell whether it accepted it. It was not resubmitted, to avoid paying twice."), ct).ConfigureAwait(false);
                Release(lane, job.Id);
                break;
        }

        EndRecovery();
    }

    private async Task OnRecoverAsync(string jobId)
    {
        var job = await _store.GetAsync(jobId, _stopping.Token).ConfigureAwait(false);
        var lane = job?.SubmitCall is { } call ? LaneOf(call.Provider) : null;
        if (job is { Status: JobStatus.Submitting } && lane is not null)
        {
            await RecoverSubmittingAsync(job, lane).ConfigureAwait(false);
        }
        else
        {
            EndRecovery(); // Cancelled or timed out meanwhile; leaving the lane freed its slot.
        }
    }

    private void EndRecovery()
    {
        if (Interlocked.Decrement(ref _recovering) <= 0)
        {
            _claims.Clear();
        }
    }

    private async Task PollOrRescheduleAsync(TimerItem item, DateTimeOffset due)
    {
        try
        {
            await PollAsync(item, due).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            // A store or engine fault must not strand the job: try again later; the deadline remains the backstop.
            EngineLog.EngineError(_log, ex, item.JobId);
            SchedulePoll(item.JobId, _time.GetUtcNow() + Backoff(TimeSpan.FromSeconds(1), item.Attempt, TimeSpan.FromMinutes(1)), item.Attempt + 1);
        }
    }

    private async Task PollAsync(TimerItem item, DateTimeOffset due)
    {
        var ct = _stopping.Token;
        var job = await _store.GetAsync(item.JobId, ct).ConfigureAwait(false);
        var lane = job?.Provider is null ? null : LaneOf(job.Provider);
        if (job is null || lane is null || job.Status != JobStatus.Running)
        {
            if (job is not null && lane is not null && job.Status.IsTerminal())
            {
                Release(lane, job.Id);
            }

            return;
        }

        if (_time.GetUtcNow() >= job.Deadline)
        {
            await OnDeadlineAsync(job.Id).ConfigureAwait(false);
            return;
        }

        await lane.PollGate.WaitAsync(ct).ConfigureAwait(false);
        using var span = ReelayTelemetry.StartPoll(job, lane.Provider.Name);
        PollOutcome outcome;
        try
        {
            using var call = UpstreamCall();
            try
            {
                outcome = await lane.Provider.PollAsync(ToProviderJob(job), call.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                outcome = new PollOutcome.RetryLater("the provider did not answer the poll in time");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                EngineLog.ProviderThrew(_log, ex, lane.Provider.Name, "poll", job.Id);
                outcome = new PollOutcome.RetryLater("the poll failed");
            }
        }
        finally
        {
            lane.PollGate.Release();
        }

        ReelayTelemetry.PollAnswered(span, outcome, _time.GetUtcNow() - due);
        var schedule = lane.Provider.PollSchedule;
        switch (outcome)
        {
            case PollOutcome.Running r:
                var attempt = item.Attempt + 1;
                if (r.Progress is { } p && Math.Clamp(p, 0, 99) > job.Progress)
                {
                    attempt = 0;
                    await TransitionAsync(job.Id, j => j.Status == JobStatus.Running && j.Progress < Math.Clamp(p, 0, 99), j => j with { Progress = Math.Clamp(p, 0, 99) }, ct).ConfigureAwait(false);
                }

                SchedulePoll(job.Id, _time.GetUtcNow() + Interval(schedule, attempt), attempt);
                break;
            case PollOutcome.Succeeded s:
                // Downloads, ffprobe and thumbnails are bounded engine-wide: a thousand jobs finishing together must not
                // open a thousand downloads and ffmpeg processes at once (and time them all out).
                await _finalizeGate.WaitAsync(_stopping.Token).ConfigureAwait(false);
                try
                {
                    await FinalizeAsync(job, lane, s.Result, item.Attempt).ConfigureAwait(false);
                }
                finally
                {
                    _finalizeGate.Release();
                }

                break;
            case PollOutcome.Failed f:
                await FailAsync(job.Id, f.Error, ct).ConfigureAwait(false);
                Release(lane, job.Id);
                break;
            case PollOutcome.RetryLater retry:
                var delay = retry.After ?? Interval(schedule, item.Attempt + 1);
                EngineLog.PollRetry(_log, job.Id, delay, retry.Reason);
                SchedulePoll(job.Id, _time.GetUtcNow() + delay, item.Attempt + 1);
                break;
        }
    }

    private async Task FinalizeAsync(Job job, Lane lane, ResultLocation result, int attempt)
    {
        using var span = ReelayTelemetry.StartFinalize(job, lane.Provider.Name);
        var ct = _stopping.Token;
        var videoKey = $"videos/{job.Id}.mp4";
        var thumbKey = $"thumbnails/{job.Id}.webp";
        var spriteKey = $"spritesheets/{job.Id}.webp";
        var downloaded = Path.Combine(_tempDirectory, $"{job.Id}.download.mp4");
        var thumbnail = Path.Combine(_tempDirectory, $"{job.Id}.thumb.webp");
        var spritesheet = Path.Combine(_tempDirectory, $"{job.Id}.sprite.webp");
        try
        {
            var source = result.Video;
            if (!result.IsLocalFile)
            {
                await using (var file = new FileStream(downloaded, FileMode.Create, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
                {
                    using var call = UpstreamCall();
                    await lane.Provider.DownloadAsync(ToProviderJob(job), result, file, call.Token).ConfigureAwait(false);
                }

                source = downloaded;
            }

            var facts = await _media.ProbeAsync(source, ct).ConfigureAwait(false);
            if (facts is null)
            {
                await FailAsync(job.Id, new JobError(ErrorCodes.UpstreamUnavailable, "The provider reported success, but its result is not a playable video."), ct).ConfigureAwait(false);
                Release(lane, job.Id);
                return;
            }

            var hasThumbnail = await _media.CreateThumbnailAsync(source, thumbnail, ct).ConfigureAwait(false);
            var hasSpritesheet = await CreateSpritesheetAsync(job.Id, source, spritesheet, facts.DurationSeconds, ct).ConfigureAwait(false);
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

            var (done, _) = await TransitionAsync(
                job.Id,
                j => j.Status == JobStatus.Running,
                j => j with
                {
                    Status = JobStatus.Succeeded,
                    Progress = 100,
                    CompletedAt = _time.GetUtcNow(),
                    ExpiresAt = retention > TimeSpan.Zero ? _time.GetUtcNow() + retention : null,
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
            if (done is null)
            {
                // Cancelled or timed out meanwhile: the result belongs to nobody.
                await _results.DeleteAsync(videoKey, ct).ConfigureAwait(false);
                await _results.DeleteAsync(thumbKey, ct).ConfigureAwait(false);
                await _results.DeleteAsync(spriteKey, ct).ConfigureAwait(false);
            }
            else
            {
                EngineLog.JobSucceeded(_log, job.Id, stored.Length, facts.DurationSeconds);
            }

            Release(lane, job.Id);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down: still 'running'; the next start polls it again and finalizes.
        }
        catch (Exception ex)
        {
            EngineLog.FinalizeFailed(_log, ex, job.Id);
            SchedulePoll(job.Id, _time.GetUtcNow() + Interval(lane.Provider.PollSchedule, attempt + 3), attempt + 1);
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

    private async Task OnDeadlineAsync(string jobId)
    {
        var ct = _stopping.Token;
        var now = _time.GetUtcNow();
        var (failed, current) = await TransitionAsync(
            jobId,
            j => !j.Status.IsTerminal() && now >= j.Deadline,
            j => j with { Status = JobStatus.Failed, CompletedAt = now, Error = new JobError(ErrorCodes.DeadlineExceeded, $"The job did not finish within its deadline ({(j.Deadline - j.CreatedAt).TotalMinutes:0.#} minutes).") },
            ct).ConfigureAwait(false);
        if (failed is null)
        {
            if (current is { Status: not JobStatus.Succeeded and not JobStatus.Failed and not JobStatus.Cancelled } && current.Deadline > now)
            {
                ScheduleDeadline(current);
            }

            return;
        }

        EngineLog.DeadlineExceeded(_log, jobId);
        LeaveLane(failed);
    }

    /// <summary>
    /// For a job that just became terminal outside the normal flow (cancel, deadline): takes it out of its provider queue,
    /// and frees its slot, after cancelling it upstream (in the background) when the upstream had accepted it.
    /// </summary>
    private void LeaveLane(Job ended)
    {
        var lane = ended.Provider is null ? null : LaneOf(ended.Provider);
        if (lane is null)
        {
            return;
        }

        bool held;
        lock (_gate)
        {
            if (lane.Nodes.Remove(ended.Id, out var node))
            {
                lane.Queue.Remove(node);
            }

            held = lane.Holders.Contains(ended.Id);
        }

        if (held && ended.UpstreamId is not null)
        {
            Spawn(ended.Id, () => CancelUpstreamAsync(lane, ended));
        }
        else
        {
            Release(lane, ended.Id);
        }
    }

    private async Task OnResubmitAsync(string jobId)
    {
        var job = await _store.GetAsync(jobId, _stopping.Token).ConfigureAwait(false);
        if (job is { Status: JobStatus.Queued, DeletedAt: null })
        {
            Enqueue(job, front: true);
        }
    }

    private async Task FailAsync(string jobId, JobError error, CancellationToken ct)
    {
        var (failed, _) = await TransitionAsync(
            jobId,
            j => !j.Status.IsTerminal(),
            j => j with { Status = JobStatus.Failed, Error = error, CompletedAt = _time.GetUtcNow() },
            ct).ConfigureAwait(false);
        if (failed is not null)
        {
            EngineLog.JobFailed(_log, jobId, error.Code, error.Message);
        }
    }

    /// <summary>
    /// Compare-and-set with retry: reloads and re-applies <paramref name="change"/> while another writer wins, as long as
    /// <paramref name="precondition"/> holds. Returns the stored job, or null with the current one when the precondition failed.
    /// </summary>
    private async Task<(Job? Updated, Job? Current)> TransitionAsync(string jobId, Func<Job, bool> precondition, Func<Job, Job> change, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var current = await _store.GetAsync(jobId, ct).ConfigureAwait(false);
            if (current is null || !precondition(current))
            {
                return (null, current);
            }

            var next = change(current) with { UpdatedAt = _time.GetUtcNow() };
            var stored = await _store.TryUpdateAsync(next, ct).ConfigureAwait(false);
            if (stored is not null)
            {
                _observers.Changed(current, stored);
                return (stored, stored);
            }
        }

        throw new InvalidOperationException($"Job {jobId} is being changed by too many writers at once.");
    }

    private ProviderJob ToProviderJob(Job job, string? clientReference = null, IReadOnlySet<string>? claimed = null)
    {
        Func<CancellationToken, Task<Stream>>? open = null;
        if (job.InputImageKey is { } key)
        {
            open = async ct =>
            {
                var content = await _results.OpenAsync(key, ct).ConfigureAwait(false)
                    ?? throw new FileNotFoundException($"The stored first frame of job {job.Id} is missing.");
                return content.OpenRead();
            };
        }

        var upstreamModel = job is { Status: JobStatus.Submitting, HasCallInFlight: true } ? job.SubmitCall!.UpstreamModel : job.UpstreamModel ?? job.Model;
        return new ProviderJob
        {
            Job = job,
            UpstreamModel = upstreamModel,
            OpenFirstFrame = open,
            StandIn = upstreamModel == DeploymentRouter.SandboxModel && job.Model != DeploymentRouter.SandboxModel,
            ClientReference = clientReference,
            ClaimedUpstreamIds = claimed ?? ProviderJob.NoClaims,
        };
    }

    /// <summary>A token that ends after the upstream call timeout, or when the scheduler stops.</summary>
    private CallScope UpstreamCall() => new(new CancellationTokenSource(_options.UpstreamCallTimeout, _time), _stopping.Token);

    private readonly struct CallScope : IDisposable
    {
        private readonly CancellationTokenSource _timeout;
        private readonly CancellationTokenSource _linked;

        public CallScope(CancellationTokenSource timeout, CancellationToken stopping)
        {
            _timeout = timeout;
            _linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stopping);
        }

        public CancellationToken Token => _linked.Token;

        public void Dispose()
        {
            _linked.Dispose();
            _timeout.Dispose();
        }
    }

    private static TimeSpan Backoff(TimeSpan initial, int attempt, TimeSpan max)
    {
        var ms = initial.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20));
        ms = Math.Min(ms, max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }

    /// <summary>The adaptive interval for the n-th poll without progress: Initial × Growth^n, capped at Max, ± jitter.</summary>
    internal static TimeSpan Interval(PollSchedule schedule, int attempt)
    {
        var ms = schedule.Initial.TotalMilliseconds * Math.Pow(schedule.Growth, Math.Min(attempt, 30));
        ms = Math.Min(ms, schedule.Max.TotalMilliseconds);
        var jitter = 1 + (((Random.Shared.NextDouble() * 2) - 1) * schedule.Jitter);
        return TimeSpan.FromMilliseconds(ms * jitter);
    }

    private void ScheduleDeadline(Job job) => AddTimer(new TimerItem(job.Id, TimerKind.Deadline, 0), job.Deadline);

    private void SchedulePoll(string jobId, DateTimeOffset due, int attempt) => AddTimer(new TimerItem(jobId, TimerKind.Poll, attempt), due);

    private void AddTimer(TimerItem item, DateTimeOffset due)
    {
        TaskCompletionSource? wake = null;
        lock (_gate)
        {
            _timers.Enqueue(item, due);
            if (due < _nextWake)
            {
                wake = _wake;
            }
        }

        wake?.TrySetResult();
    }

    private async Task TimerLoopAsync(CancellationToken ct)
    {
        var due = new List<(TimerItem Item, DateTimeOffset At)>();
        while (!ct.IsCancellationRequested)
        {
            TaskCompletionSource wake;
            TimeSpan wait;
            lock (_gate)
            {
                if (_wake.Task.IsCompleted)
                {
                    _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                wake = _wake;
                var now = _time.GetUtcNow();
                while (_timers.TryPeek(out var item, out var at) && at <= now)
                {
                    _timers.Dequeue();
                    due.Add((item, at));
                }

                _nextWake = _timers.TryPeek(out _, out var next) ? next : DateTimeOffset.MaxValue;
                wait = _nextWake == DateTimeOffset.MaxValue ? Timeout.InfiniteTimeSpan : _nextWake - now;
            }

            foreach (var (item, at) in due)
            {
                Spawn(item.JobId, item.Kind switch
                {
                    TimerKind.Poll => () => PollOrRescheduleAsync(item, at),
                    TimerKind.Deadline => () => OnDeadlineAsync(item.JobId),
                    TimerKind.Recover => () => OnRecoverAsync(item.JobId),
                    _ => () => OnResubmitAsync(item.JobId),
                });
            }

            due.Clear();
            if (wait == TimeSpan.Zero)
            {
                continue;
            }

            using var delayCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var delay = wait == Timeout.InfiniteTimeSpan ? Task.Delay(Timeout.Infinite, delayCts.Token) : Task.Delay(wait, _time, delayCts.Token);
            await Task.WhenAny(delay, wake.Task).ConfigureAwait(false);
            await delayCts.CancelAsync().ConfigureAwait(false);
            try
            {
                await delay.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private void Spawn(string jobId, Func<Task> work)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                EngineLog.EngineError(_log, ex, jobId);
            }
        });
        _background.TryAdd(task, 0);
        task.ContinueWith(t => _background.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
