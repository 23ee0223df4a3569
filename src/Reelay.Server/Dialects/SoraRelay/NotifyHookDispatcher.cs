using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Net;
using Reelay.Server.Content;

namespace Reelay.Server.Dialects.SoraRelay;

/// <summary>
/// Calls a relay job's notify_hook: at each change of its relay status (NOT_START, IN_PROGRESS, SUCCESS, FAILURE; progress
/// alone does not call) it POSTs the task's query body through the <see cref="GuardedHttpClient"/>, retrying transient
/// failures with exponential backoff and jitter. Deliveries of one job go out in order, one at a time; a delivery still
/// retrying when the job changes again is dropped in favour of the newer state, which says everything the older one did.
/// In memory only: what is pending when the process stops is lost (a durable, signed outbox is later work).
/// </summary>
internal sealed class NotifyHookDispatcher : IJobObserver, IHostedService, IDisposable
{
    /// <summary>Sent as User-Agent with every delivery.</summary>
    public const string UserAgent = "Reelay/1.0 (notify_hook)";

    private readonly GuardedHttpClient _http;
    private readonly ContentUrlSigner _signer;
    private readonly NotifyHookOptions _options;
    private readonly TimeProvider _time;
    private readonly IServiceProvider _services;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();

    // Job id → states waiting to be sent; an entry exists exactly while that job's worker runs.
    private readonly Dictionary<string, Queue<Job>> _pending = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _baseUrls = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, byte> _workers = new();
    private volatile bool _stopped;

    public NotifyHookDispatcher(GuardedHttpClient http, ContentUrlSigner signer, ReelayOptions options, TimeProvider time, IServiceProvider services, ILogger<NotifyHookDispatcher> log)
    {
        _http = http;
        _signer = signer;
        _options = options.SoraRelay.NotifyHook;
        _time = time;
        _services = services;
        _log = log;
        _slots = new SemaphoreSlim(_options.MaxConcurrentDeliveries);
    }

    /// <summary>The scheme, host and path base the job's client used, so callback links match the ones its queries get.</summary>
    public void RememberBaseUrl(string jobId, string baseUrl) => _baseUrls[jobId] = baseUrl;

    /// <inheritdoc />
    public void OnJobChanged(Job? previous, Job current)
    {
        try
        {
            if (_stopped || current.WebhookUrl is null || current.Dialect != SoraRelayRequestReader.Dialect)
            {
                return;
            }

            if (current.DeletedAt is not null)
            {
                _baseUrls.TryRemove(current.Id, out _);
                return;
            }

            if (previous is not null && SoraRelayModels.Status(previous.Status) == SoraRelayModels.Status(current.Status))
            {
                return;
            }

            lock (_gate)
            {
                if (_pending.TryGetValue(current.Id, out var queue))
                {
                    queue.Enqueue(current);
                    return;
                }

                _pending[current.Id] = new Queue<Job>([current]);
            }

            var worker = Task.Run(() => RunAsync(current.Id));
            _workers.TryAdd(worker, 0);
            worker.ContinueWith(t => _workers.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        catch (Exception ex)
        {
            NotifyHookLog.DispatcherError(_log, ex, current.Id);
        }
    }

    private async Task RunAsync(string jobId)
    {
        try
        {
            while (true)
            {
                Job job;
                lock (_gate)
                {
                    var queue = _pending[jobId];
                    if (queue.Count == 0)
                    {
                        _pending.Remove(jobId);
                        return;
                    }

                    job = queue.Dequeue();
                }

                await DeliverAsync(job, _stopping.Token).ConfigureAwait(false);
                if (job.Status.IsTerminal())
                {
                    _baseUrls.TryRemove(jobId, out _);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            NotifyHookLog.DispatcherError(_log, ex, jobId);
        }

        lock (_gate)
        {
            _pending.Remove(jobId);
        }
    }

    private bool HasNewer(string jobId)
    {
        lock (_gate)
        {
            return _pending.TryGetValue(jobId, out var queue) && queue.Count > 0;
        }
    }

    private async Task DeliverAsync(Job job, CancellationToken ct)
    {
        var status = SoraRelayModels.Status(job.Status);
        var url = new Uri(job.WebhookUrl!);
        var body = JsonSerializer.SerializeToUtf8Bytes(SoraRelayEndpoints.Render(job, BaseUrl(job.Id), _signer), SoraRelayJsonContext.Default.SoraRelayTask);
        var deliveryId = $"{job.Id}:{status}";
        for (var attempt = 1; ; attempt++)
        {
            GuardedPostOutcome outcome;
            await _slots.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                outcome = await _http.PostAsync(url, body, "application/json; charset=utf-8", Headers(job.Id, status, deliveryId, attempt), _options.Timeout, ct).ConfigureAwait(false);
            }
            finally
            {
                _slots.Release();
            }

            if (outcome.Succeeded)
            {
                NotifyHookLog.Delivered(_log, job.Id, status, url.Host, attempt);
                return;
            }

            var (retryable, reason) = Classify(outcome);
            if (!retryable || attempt >= _options.MaxAttempts)
            {
                NotifyHookLog.GivenUp(_log, job.Id, status, url.Host, attempt, reason);
                return;
            }

            if (HasNewer(job.Id))
            {
                NotifyHookLog.Superseded(_log, job.Id, status, url.Host, attempt);
                return;
            }

            var delay = Backoff(attempt, outcome.RetryAfter);
            NotifyHookLog.Retrying(_log, job.Id, status, url.Host, attempt, reason, delay);
            await Task.Delay(delay, _time, ct).ConfigureAwait(false);
            if (HasNewer(job.Id))
            {
                NotifyHookLog.Superseded(_log, job.Id, status, url.Host, attempt);
                return;
            }
        }
    }

    private static KeyValuePair<string, string>[] Headers(string jobId, string status, string deliveryId, int attempt) =>
    [
        new("User-Agent", UserAgent),
        new("X-Reelay-Task-Id", jobId),
        new("X-Reelay-Status", status),
        new("X-Reelay-Delivery-Id", deliveryId),
        new("X-Reelay-Attempt", attempt.ToString(CultureInfo.InvariantCulture)),
    ];

    /// <summary>Network trouble, timeouts, 408, 425, 429 and 5xx are worth another try; a blocked address, a redirect or another 4xx is not.</summary>
    private static (bool Retryable, string Reason) Classify(GuardedPostOutcome outcome) => outcome switch
    {
        { Failure: GuardedPostFailure.BlockedAddress } => (false, "the host resolves to a loopback, private, link-local, metadata or multicast address"),
        { Failure: GuardedPostFailure.SchemeNotAllowed } => (false, "the URL is not http or https"),
        { Failure: GuardedPostFailure.Unreachable } => (true, "the host could not be reached"),
        { Failure: GuardedPostFailure.Timeout } => (true, "no answer in time"),
        { StatusCode: 408 or 425 or 429 or >= 500 } => (true, $"HTTP {outcome.StatusCode}"),
        _ => (false, $"HTTP {outcome.StatusCode}"),
    };

    /// <summary>FirstRetryDelay doubled per retry, ±20 % jitter, at most MaxRetryDelay; a longer Retry-After (also capped) wins.</summary>
    private TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        var exponential = _options.FirstRetryDelay.TotalMilliseconds * Math.Pow(2, attempt - 1);
        var jittered = Math.Min(exponential, _options.MaxRetryDelay.TotalMilliseconds) * (0.8 + (0.4 * Random.Shared.NextDouble()));
        var delay = TimeSpan.FromMilliseconds(Math.Min(jittered, _options.MaxRetryDelay.TotalMilliseconds));
        return retryAfter is { } asked && asked > delay ? (asked < _options.MaxRetryDelay ? asked : _options.MaxRetryDelay) : delay;
    }

    /// <summary>The client's base URL from its submit; after a restart, the address this server listens on.</summary>
    private string BaseUrl(string jobId)
    {
        if (_baseUrls.TryGetValue(jobId, out var known))
        {
            return known;
        }

        var addresses = _services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses)
        {
            if (Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Port > 0)
            {
                var host = uri.Host is "0.0.0.0" or "[::]" or "::" or "+" or "*" ? "127.0.0.1" : uri.Host;
                return $"{uri.Scheme}://{host}:{uri.Port}";
            }
        }

        return ReelayServer.DefaultUrl;
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopped = true;
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_workers.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stopping.Dispose();
        _slots.Dispose();
    }
}
