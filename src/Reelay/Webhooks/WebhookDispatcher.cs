using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reelay.Net;
using Reelay.Diagnostics;

namespace Reelay.Webhooks;

/// <summary>
/// Delivers the outbox: every due delivery that is first in line for its job is POSTed through the
/// <see cref="GuardedHttpClient"/>, signed per Standard Webhooks with the owner's secret(s). At most
/// Reelay:Webhooks:MaxConcurrentDeliveries at once, one per job, so a job's events arrive in order. A failure is retried
/// with exponential backoff and full jitter (a receiver's Retry-After wins when longer) until the retry window ends;
/// every attempt is recorded. A delivery interrupted by a crash is sent again, with the same webhook-id, after the restart.
/// </summary>
public sealed class WebhookDispatcher : BackgroundService
{
    /// <summary>Sent as User-Agent unless the delivery carries its own.</summary>
    public const string UserAgent = "Reelay/1.0 (webhooks)";

    private static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(30);

    private readonly IWebhookStore _store;
    private readonly GuardedHttpClient _http;
    private readonly WebhookOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<byte> _wake = Channel.CreateBounded<byte>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly HashSet<string> _busy = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly Cluster.IClusterSignals? _cluster;
    private readonly IDisposable? _announcements;

    /// <summary>Creates the dispatcher.</summary>
    /// <remarks>
    /// With several nodes (<paramref name="cluster"/> shared), only the leader delivers, so each delivery is attempted by one
    /// node; the others enqueue and announce (<see cref="Enqueued"/>). A leader that dies mid-attempt leaves the delivery
    /// pending, and the next leader attempts it again (receivers deduplicate on webhook-id, as with any retry).
    /// </remarks>
    public WebhookDispatcher(IWebhookStore store, GuardedHttpClient http, ReelayOptions options, TimeProvider time, ILogger<WebhookDispatcher> log, Cluster.IClusterSignals? cluster = null)
    {
        _cluster = cluster;
        _announcements = cluster?.Subscribe(Cluster.ClusterChannels.WebhookQueued, _ => Wake());
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _http = http;
        _options = options.Webhooks;
        _time = time;
        _log = log;
    }

    /// <summary>The random source of the jitter (tests may pin it).</summary>
    internal Random Jitter { get; init; } = Random.Shared;

    /// <summary>Deliveries being attempted right now (a stopping gateway waits for them).</summary>
    public int DeliveriesInFlight
    {
        get
        {
            lock (_gate)
            {
                return _busy.Count;
            }
        }
    }

    // Long enough for any attempt (its timeout) to end and be recorded; only a node that died makes anyone wait for it.
    private TimeSpan ClaimLease => _options.Timeout * 6 + TimeSpan.FromSeconds(30);

    /// <summary>Says that a delivery was enqueued or finished, so the dispatcher looks at the outbox now.</summary>
    public void Wake() => _wake.Writer.TryWrite(0);

    /// <summary>Says that a delivery was enqueued: wakes this dispatcher, and the leader's when another node leads.</summary>
    public void Enqueued()
    {
        Wake();
        if (_cluster is { IsShared: true, IsLeader: false })
        {
            _cluster.Publish(Cluster.ClusterChannels.WebhookQueued, "");
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _announcements?.Dispose();
        base.Dispose();
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var workers = new List<Task>();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                workers.RemoveAll(t => t.IsCompleted);
                if (_cluster is { IsShared: true, IsLeader: false })
                {
                    await WaitAsync(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
                    continue;
                }

                HashSet<string> busy;
                lock (_gate)
                {
                    busy = [.. _busy];
                }

                var free = _options.MaxConcurrentDeliveries - busy.Count;
                if (free > 0)
                {
                    foreach (var delivery in await _store.ClaimDueAsync(_time.GetUtcNow(), ClaimLease, free, busy, stoppingToken).ConfigureAwait(false))
                    {
                        lock (_gate)
                        {
                            _busy.Add(delivery.JobId);
                            busy.Add(delivery.JobId);
                        }

                        workers.Add(Task.Run(() => RunAsync(delivery, stoppingToken), CancellationToken.None));
                    }
                }

                var delay = IdlePoll;
                if (busy.Count < _options.MaxConcurrentDeliveries && await _store.NextDueAsync(busy, stoppingToken).ConfigureAwait(false) is { } next)
                {
                    delay = next - _time.GetUtcNow();
                    if (delay <= TimeSpan.Zero)
                    {
                        continue;
                    }

                    delay = delay < IdlePoll ? delay : IdlePoll;
                }

                await WaitAsync(delay, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                WebhookLog.DispatcherError(_log, ex);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
    }

    private async Task WaitAsync(TimeSpan delay, CancellationToken ct)
    {
        if (_wake.Reader.TryRead(out _))
        {
            return;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var woken = _wake.Reader.WaitToReadAsync(cts.Token).AsTask();
        var timer = Task.Delay(delay, _time, cts.Token);
        await Task.WhenAny(woken, timer).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
        _wake.Reader.TryRead(out _);
        ct.ThrowIfCancellationRequested();
    }

    private async Task RunAsync(WebhookDelivery delivery, CancellationToken ct)
    {
        try
        {
            await DeliverAsync(delivery, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping: the attempt is not recorded, so it is made again (same webhook-id) after the restart.
        }
        catch (Exception ex)
        {
            WebhookLog.OutboxError(_log, ex, delivery.JobId);
        }
        finally
        {
            lock (_gate)
            {
                _busy.Remove(delivery.JobId);
            }

            Wake();
        }
    }

    internal async Task DeliverAsync(WebhookDelivery delivery, CancellationToken ct)
    {
        var attempt = delivery.Attempts + 1;
        var at = _time.GetUtcNow();
        var secrets = await _store.GetOrCreateSecretsAsync(delivery.Owner, at, ct).ConfigureAwait(false);
        var timestamp = at.ToUnixTimeSeconds();
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["User-Agent"] = UserAgent,
            ["webhook-id"] = delivery.Id,
            ["webhook-timestamp"] = timestamp.ToString(CultureInfo.InvariantCulture),
            ["webhook-signature"] = WebhookSigner.SignatureHeader(secrets.SigningSecrets(at), delivery.Id, timestamp, delivery.Payload),
            ["X-Reelay-Event"] = delivery.EventType,
            ["X-Reelay-Attempt"] = attempt.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (name, value) in delivery.Headers)
        {
            headers[name] = value;
        }

        var url = new Uri(delivery.Url);
        using var span = ReelayTelemetry.StartWebhookDelivery(delivery.JobId, delivery.EventType, attempt);
        var started = _time.GetTimestamp();
        var outcome = await _http.PostAsync(url, delivery.Payload, "application/json", headers, _options.Timeout, ct).ConfigureAwait(false);
        var duration = _time.GetElapsedTime(started);
        var now = _time.GetUtcNow();
        if (outcome.Succeeded)
        {
            await _store.RecordAttemptAsync(new WebhookAttempt(delivery.Id, attempt, at, duration, outcome.StatusCode, null), WebhookDeliveryState.Delivered, null, ct).ConfigureAwait(false);
            WebhookLog.Delivered(_log, delivery.Id, delivery.EventType, delivery.JobId, url.Host, attempt);
            ReelayTelemetry.WebhookAttempted("delivered", outcome.StatusCode, span);
            return;
        }

        var (retryable, reason) = Classify(outcome);
        var next = now + Backoff(attempt, outcome.RetryAfter);
        if (retryable && next > delivery.CreatedAt + _options.RetryWindow)
        {
            (retryable, reason) = (false, $"{reason}; the retry window ({_options.RetryWindow}) has passed");
        }

        var record = new WebhookAttempt(delivery.Id, attempt, at, duration, outcome.StatusCode, reason);
        if (retryable)
        {
            await _store.RecordAttemptAsync(record, WebhookDeliveryState.Pending, next, ct).ConfigureAwait(false);
            WebhookLog.Retrying(_log, delivery.Id, delivery.EventType, delivery.JobId, url.Host, attempt, reason, next);
            ReelayTelemetry.WebhookAttempted("retrying", outcome.StatusCode, span);
        }
        else
        {
            await _store.RecordAttemptAsync(record, WebhookDeliveryState.Dead, null, ct).ConfigureAwait(false);
            WebhookLog.Dead(_log, delivery.Id, delivery.EventType, delivery.JobId, url.Host, attempt, reason);
            ReelayTelemetry.WebhookAttempted("dead", outcome.StatusCode, span);
        }
    }

    /// <summary>Network trouble, timeouts, 408, 425, 429 and 5xx are worth another try; a blocked address, a redirect or another 4xx is not.</summary>
    internal static (bool Retryable, string Reason) Classify(GuardedPostOutcome outcome) => outcome switch
    {
        { Failure: GuardedPostFailure.BlockedAddress } => (false, "the host resolves to a loopback, private, link-local, metadata or multicast address"),
        { Failure: GuardedPostFailure.SchemeNotAllowed } => (false, "the URL is not http or https"),
        { Failure: GuardedPostFailure.Unreachable } => (true, "the host could not be reached"),
        { Failure: GuardedPostFailure.Timeout } => (true, "no answer in time"),
        { StatusCode: 408 or 425 or 429 or >= 500 } => (true, $"HTTP {outcome.StatusCode}"),
        _ => (false, $"HTTP {outcome.StatusCode}"),
    };

    /// <summary>Full jitter: a random delay up to FirstRetryDelay·2^(attempt-1), capped at MaxRetryDelay; a longer Retry-After (also capped) wins.</summary>
    internal TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        var ceiling = Math.Min(_options.FirstRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30)), _options.MaxRetryDelay.TotalMilliseconds);
        var delay = TimeSpan.FromMilliseconds(ceiling * Jitter.NextDouble());
        if (retryAfter is { } asked && asked > delay)
        {
            delay = asked < _options.MaxRetryDelay ? asked : _options.MaxRetryDelay;
        }

        return delay;
    }
}
