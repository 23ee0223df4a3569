using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Storage;

namespace Reelay.Webhooks;

/// <summary>
/// Turns stored job changes into outbox rows. Told about every change (an <see cref="IJobObserver"/>), it picks the
/// events the job's filter wants, coalesces job.progress to one per job per Reelay:Webhooks:ProgressInterval (the latest
/// value of an interval is sent at its end), renders each payload once and writes it to the outbox in order.
/// A crash between a job's change and its row is repaired at start-up: every job with a webhook changed within the
/// retry window gets the events its state implies (the store's unique key and rank rule make that idempotent).
/// </summary>
public sealed class WebhookOutbox : BackgroundService, IJobObserver
{
    private readonly IWebhookStore _store;
    private readonly IJobStore _jobs;
    private readonly IWebhookPayloadRenderer[] _renderers;
    private readonly WebhookDispatcher _dispatcher;
    private readonly WebhookOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<Pending> _writes = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, ProgressState> _progress = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    private sealed record Pending(Job Job, string EventType, DateTimeOffset At);

    private sealed class ProgressState
    {
        public DateTimeOffset LastSent { get; set; }
        public Job? Waiting { get; set; }
        public ITimer? Timer { get; set; }
    }

    /// <summary>Creates the outbox writer.</summary>
    public WebhookOutbox(IWebhookStore store, IJobStore jobs, IEnumerable<IWebhookPayloadRenderer> renderers, WebhookDispatcher dispatcher, ReelayOptions options, TimeProvider time, ILogger<WebhookOutbox> log)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _jobs = jobs;
        _renderers = [.. renderers, new WebhookEnvelopeRenderer()];
        _dispatcher = dispatcher;
        _options = options.Webhooks;
        _time = time;
        _log = log;
    }

    /// <summary>Completes once the start-up repair has run (tests wait for it).</summary>
    internal Task Reconciled => _reconciled.Task;

    private readonly TaskCompletionSource _reconciled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <inheritdoc />
    public void OnJobChanged(Job? previous, Job current)
    {
        ArgumentNullException.ThrowIfNull(current);
        try
        {
            if (current.WebhookUrl is null)
            {
                return;
            }

            if (current.DeletedAt is not null || current.Status.IsTerminal())
            {
                Forget(current.Id);
            }

            if (current.DeletedAt is not null)
            {
                return;
            }

            var now = _time.GetUtcNow();
            foreach (var eventType in WebhookEvents.Raised(previous, current).SelectMany(raised => WebhookEvents.Deliveries(current, raised)))
            {
                if (eventType == WebhookEvents.Progress)
                {
                    Throttle(current, now);
                }
                else
                {
                    _writes.Writer.TryWrite(new Pending(current, eventType, now));
                }
            }
        }
        catch (Exception ex)
        {
            WebhookLog.OutboxError(_log, ex, current.Id);
        }
    }

    private void Throttle(Job job, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (!_progress.TryGetValue(job.Id, out var state))
            {
                _progress[job.Id] = new ProgressState { LastSent = now };
                _writes.Writer.TryWrite(new Pending(job, WebhookEvents.Progress, now));
                return;
            }

            if (now - state.LastSent >= _options.ProgressInterval && state.Timer is null)
            {
                state.LastSent = now;
                _writes.Writer.TryWrite(new Pending(job, WebhookEvents.Progress, now));
                return;
            }

            state.Waiting = job;
            state.Timer ??= _time.CreateTimer(Flush, job.Id, state.LastSent + _options.ProgressInterval - now, Timeout.InfiniteTimeSpan);
        }
    }

    private void Flush(object? jobId)
    {
        lock (_gate)
        {
            if (jobId is string id && _progress.TryGetValue(id, out var state))
            {
                state.Timer?.Dispose();
                state.Timer = null;
                if (state.Waiting is { } job)
                {
                    state.Waiting = null;
                    state.LastSent = _time.GetUtcNow();
                    _writes.Writer.TryWrite(new Pending(job, WebhookEvents.Progress, state.LastSent));
                }
            }
        }
    }

    private void Forget(string jobId)
    {
        lock (_gate)
        {
            if (_progress.Remove(jobId, out var state))
            {
                state.Timer?.Dispose();
            }
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await ReconcileAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            WebhookLog.OutboxError(_log, ex, "(start-up repair)");
        }
        finally
        {
            _reconciled.TrySetResult();
        }

        try
        {
            await foreach (var pending in _writes.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await WriteAsync(pending, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // Stopping: write what is already queued, briefly (anything left is repaired at the next start).
        using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (_writes.Reader.TryRead(out var pending) && !drain.IsCancellationRequested)
        {
            await WriteAsync(pending, drain.Token).ConfigureAwait(false);
        }
    }

    /// <summary>Enqueues what every recently changed job with a webhook should have raised; returns how many rows were added.</summary>
    internal async Task<int> ReconcileAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var ids = await _store.ListJobsWithWebhooksAsync(now - _options.RetryWindow, ct).ConfigureAwait(false);
        var added = 0;
        var jobs = 0;
        foreach (var id in ids)
        {
            if (await _jobs.GetAsync(id, ct).ConfigureAwait(false) is not { WebhookUrl: not null, DeletedAt: null } job)
            {
                continue;
            }

            var before = added;
            foreach (var eventType in WebhookEvents.Implied(job).SelectMany(implied => WebhookEvents.Deliveries(job, implied)))
            {
                added += await WriteAsync(new Pending(job, eventType, now), ct).ConfigureAwait(false) ? 1 : 0;
            }

            jobs += added > before ? 1 : 0;
        }

        if (added > 0)
        {
            WebhookLog.Reconciled(_log, added, jobs);
        }

        return added;
    }

    private async Task<bool> WriteAsync(Pending pending, CancellationToken ct)
    {
        var (job, eventType, at) = pending;
        try
        {
            var payload = Render(job, eventType, at);
            var delivery = new WebhookDelivery
            {
                Id = WebhookSigner.NewMessageId(),
                JobId = job.Id,
                Owner = job.Owner,
                EventType = eventType,
                Sequence = eventType == WebhookEvents.Progress ? job.Progress : 0,
                Url = job.WebhookUrl!,
                Payload = payload.Body,
                Headers = payload.Headers,
                CreatedAt = at,
                NextAttemptAt = at,
            };
            if (await _store.EnqueueAsync(delivery, ct).ConfigureAwait(false))
            {
                _dispatcher.Enqueued();
                return true;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            WebhookLog.OutboxError(_log, ex, job.Id);
        }

        return false;
    }

    private WebhookPayload Render(Job job, string eventType, DateTimeOffset at)
    {
        foreach (var renderer in _renderers)
        {
            if (renderer.Render(job, eventType, at) is { } payload)
            {
                return payload;
            }
        }

        throw new InvalidOperationException("No webhook renderer answered.");
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        lock (_gate)
        {
            foreach (var state in _progress.Values)
            {
                state.Timer?.Dispose();
            }

            _progress.Clear();
        }

        base.Dispose();
    }
}
