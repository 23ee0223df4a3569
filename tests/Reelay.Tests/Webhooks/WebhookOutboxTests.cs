using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Reelay.Jobs;
using Reelay.Net;
using Reelay.Storage.Sqlite;
using Reelay.Tests.Storage;
using Reelay.Tests.TestSupport;
using Reelay.Webhooks;

namespace Reelay.Tests.Webhooks;

/// <summary>The outbox, its dispatcher and the SQLite store together, on a fake clock, delivering to a loopback receiver.</summary>
public sealed class WebhookOutboxTests : IAsyncLifetime
{
    private static readonly TimeSpan First = TimeSpan.FromSeconds(10);
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("reelay-webhooks-");
    private readonly FakeTimeProvider _clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly LoopbackReceiver _receiver = new();
    private readonly ReelayOptions _options = new() { Webhooks = { FirstRetryDelay = First, MaxRetryDelay = TimeSpan.FromMinutes(5), RetryWindow = TimeSpan.FromHours(1) } };
    private readonly GuardedHttpClient _http;
    private SqliteJobStore _jobs = null!;
    private SqliteWebhookStore _store = null!;

    public WebhookOutboxTests() => _http = new GuardedHttpClient(new AddressPolicy(["127.0.0.1"]), _clock);

    private static CancellationToken Ct => CancellationToken.None;

    public async Task InitializeAsync()
    {
        var connection = SqliteJobStore.DefaultConnectionString(_directory.FullName);
        _jobs = new SqliteJobStore(connection, _clock);
        await _jobs.InitializeAsync(Ct);
        _store = new SqliteWebhookStore(_jobs);
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        _http.Dispose();
        await _jobs.DisposeAsync();
        _directory.Delete(recursive: true);
    }

    /// <summary>Always returns the same value, so the full-jitter delay is predictable.</summary>
    private sealed class FixedRandom(double value) : Random
    {
        public override double NextDouble() => value;
    }

    private WebhookDispatcher Dispatcher(double jitter = 0.5) =>
        new(_store, _http, _options, _clock, NullLogger<WebhookDispatcher>.Instance) { Jitter = new FixedRandom(jitter) };

    private WebhookOutbox Outbox(WebhookDispatcher dispatcher) =>
        new(_store, _jobs, [], dispatcher, _options, _clock, NullLogger<WebhookOutbox>.Instance);

    private WebhookDelivery Delivery(string jobId, string eventType = WebhookEvents.Succeeded, int sequence = 0) => new()
    {
        Id = WebhookSigner.NewMessageId(),
        JobId = jobId,
        Owner = "key_a",
        EventType = eventType,
        Sequence = sequence,
        Url = _receiver.Url.AbsoluteUri,
        Payload = Encoding.UTF8.GetBytes($"{{\"type\":\"{eventType}\",\"n\":{sequence}}}"),
        CreatedAt = _clock.GetUtcNow(),
        NextAttemptAt = _clock.GetUtcNow(),
    };

    private async Task<WebhookDelivery> Stored(string id) =>
        (await _store.ListForJobAsync((await AllAsync()).Single(d => d.Id == id).JobId, Ct)).Single(l => l.Delivery.Id == id).Delivery;

    private async Task<List<WebhookDelivery>> AllAsync()
    {
        var due = await _store.ListDueAsync(DateTimeOffset.MaxValue.AddDays(-1), 1000, new HashSet<string>(), Ct);
        return [.. due];
    }

    private static Job WebhookJob(string? id = null, JobStatus status = JobStatus.Queued, IReadOnlyList<string>? events = null) =>
        TestJobs.New(id, owner: "key_a", status: status) with { WebhookUrl = "http://127.0.0.1:9/hooks", WebhookEvents = events };

    [Fact]
    public async Task Dispatchers_TwoNodesOnOneOutbox_OnlyTheLeaderDeliversAndTheOtherTakesOverWhenItLeaves()
    {
        var bus = new Reelay.Cluster.InProcessSignalBus();
        await using var first = new Reelay.Cluster.InProcessClusterSignals("node-a", bus);
        await using var second = new Reelay.Cluster.InProcessClusterSignals("node-b", bus);
        using var a = new WebhookDispatcher(_store, _http, _options, _clock, NullLogger<WebhookDispatcher>.Instance, first);
        using var b = new WebhookDispatcher(_store, _http, _options, _clock, NullLogger<WebhookDispatcher>.Instance, second);
        _receiver.Respond = _ =>
        {
            Thread.Sleep(300); // a slow receiver: both nodes would see the deliveries still pending
            return (204, null);
        };
        var deliveries = new[] { Delivery("video_once_1"), Delivery("video_once_2") };
        foreach (var delivery in deliveries)
        {
            Assert.True(await _store.EnqueueAsync(delivery, Ct));
        }

        await a.StartAsync(Ct);
        await b.StartAsync(Ct);
        await Eventually.TrueAsync(() => _receiver.All.Count >= 2, "the leader delivers both");
        await Task.Delay(300);
        Assert.Equal(deliveries.Select(d => d.Id).Order(StringComparer.Ordinal), _receiver.All.Select(r => r.Header("webhook-id")).Order(StringComparer.Ordinal));

        await first.DisposeAsync(); // node a leaves: node b leads
        await a.StopAsync(Ct);
        var third = Delivery("video_once_3");
        Assert.True(await _store.EnqueueAsync(third, Ct));
        await Eventually.TrueAsync(() =>
        {
            _clock.Advance(TimeSpan.FromSeconds(1)); // the follower looks again every second
            return _receiver.All.Any(r => r.Header("webhook-id") == third.Id);
        }, "node b delivers after node a left");

        // A delivery node a was still sending when it stopped may be sent again by node b, with the same webhook-id (at
        // least once, as receivers are told to expect); the new one is delivered exactly once.
        Assert.Single(_receiver.All, r => r.Header("webhook-id") == third.Id);
        await b.StopAsync(Ct);
    }

    [Fact]
    public async Task DeliverAsync_Receiver500Twice_RetriedWithSameIdAndExponentialBackoff()
    {
        var calls = 0;
        _receiver.Respond = _ => (Interlocked.Increment(ref calls) <= 2 ? 500 : 204, null);
        var dispatcher = Dispatcher(jitter: 0.5);
        var delivery = Delivery("video_retry");
        Assert.True(await _store.EnqueueAsync(delivery, Ct));
        var secret = (await _store.GetOrCreateSecretsAsync("key_a", _clock.GetUtcNow(), Ct)).Current;

        var t0 = _clock.GetUtcNow();
        await dispatcher.DeliverAsync(await Stored(delivery.Id), Ct);
        var afterOne = await Stored(delivery.Id);
        Assert.Equal((WebhookDeliveryState.Pending, 1, 500), (afterOne.State, afterOne.Attempts, afterOne.LastStatusCode));
        Assert.Equal(t0 + (First * 0.5), afterOne.NextAttemptAt);

        _clock.Advance(First);
        var t1 = _clock.GetUtcNow();
        await dispatcher.DeliverAsync(afterOne, Ct);
        var afterTwo = await Stored(delivery.Id);
        Assert.Equal(t1 + (First * 2 * 0.5), afterTwo.NextAttemptAt);

        _clock.Advance(First * 2);
        await dispatcher.DeliverAsync(afterTwo, Ct);
        var log = (await _store.ListForJobAsync("video_retry", Ct)).Single();
        Assert.Equal(WebhookDeliveryState.Delivered, log.Delivery.State);
        Assert.Equal([500, 500, 204], log.Attempts.Select(a => a.StatusCode));

        var received = _receiver.All;
        Assert.Equal(3, received.Count);
        Assert.All(received, r => Assert.Equal(delivery.Id, r.Header("webhook-id")));
        Assert.Equal(["1", "2", "3"], received.Select(r => r.Header("X-Reelay-Attempt")));
        foreach (var r in received)
        {
            var timestamp = long.Parse(r.Header("webhook-timestamp"), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(WebhookSigner.Sign(secret, delivery.Id, timestamp, Encoding.UTF8.GetBytes(r.Body)), r.Header("webhook-signature"));
        }
    }

    [Fact]
    public async Task DeliverAsync_RetryAfterLongerThanBackoff_NextAttemptHonoursIt()
    {
        _receiver.Respond = _ => (429, 120);
        var delivery = Delivery("video_429");
        await _store.EnqueueAsync(delivery, Ct);

        await Dispatcher().DeliverAsync(await Stored(delivery.Id), Ct);

        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromSeconds(120), (await Stored(delivery.Id)).NextAttemptAt);
    }

    [Fact]
    public async Task DeliverAsync_RetryWindowPassed_MarksDead()
    {
        _receiver.Respond = _ => (503, null);
        var delivery = Delivery("video_window");
        await _store.EnqueueAsync(delivery, Ct);
        _clock.Advance(_options.Webhooks.RetryWindow);

        await Dispatcher().DeliverAsync(await Stored(delivery.Id), Ct);

        var log = (await _store.ListForJobAsync("video_window", Ct)).Single();
        Assert.Equal(WebhookDeliveryState.Dead, log.Delivery.State);
        Assert.Contains("retry window", log.Delivery.LastError, StringComparison.Ordinal);
        Assert.Empty(await _store.ListDueAsync(DateTimeOffset.MaxValue.AddDays(-1), 10, new HashSet<string>(), Ct));
    }

    [Fact]
    public async Task DeliverAsync_Receiver404_DeadWithoutRetry()
    {
        _receiver.Respond = _ => (404, null);
        var delivery = Delivery("video_404");
        await _store.EnqueueAsync(delivery, Ct);

        await Dispatcher().DeliverAsync(await Stored(delivery.Id), Ct);

        var log = (await _store.ListForJobAsync("video_404", Ct)).Single();
        Assert.Equal((WebhookDeliveryState.Dead, 1, "HTTP 404"), (log.Delivery.State, log.Delivery.Attempts, log.Delivery.LastError));
    }

    [Fact]
    public async Task Dispatcher_FirstEventOfJobFailing_LaterEventsWaitAndArriveInOrder()
    {
        var failFirst = 1;
        _receiver.Respond = r => (r.Body.Contains("job.running", StringComparison.Ordinal) && Interlocked.Exchange(ref failFirst, 0) == 1 ? 500 : 200, null);
        await _store.EnqueueAsync(Delivery("video_order", WebhookEvents.Running), Ct);
        await _store.EnqueueAsync(Delivery("video_order", WebhookEvents.Progress, 40), Ct);
        await _store.EnqueueAsync(Delivery("video_order", WebhookEvents.Succeeded), Ct);
        await _store.EnqueueAsync(Delivery("video_other", WebhookEvents.Queued), Ct);
        using var dispatcher = Dispatcher(jitter: 1.0);
        await dispatcher.StartAsync(Ct);

        // The other job is not held up; this job's later events wait for its first one.
        await Eventually.TrueAsync(() => _receiver.All.Count == 2, "the failed first attempt and the other job's event");
        await Task.Delay(200, Ct);
        Assert.Equal(2, _receiver.All.Count);

        _clock.Advance(First);
        await Eventually.TrueAsync(() => _receiver.All.Count == 5, "the retry and the two later events");
        await dispatcher.StopAsync(Ct);
        var ofJob = _receiver.All.Where(r => !r.Body.Contains("job.queued", StringComparison.Ordinal)).Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("type").GetString());
        Assert.Equal([WebhookEvents.Running, WebhookEvents.Running, WebhookEvents.Progress, WebhookEvents.Succeeded], ofJob);
    }

    [Fact]
    public async Task OnJobChanged_EventFilter_OnlyChosenEventsEnqueued()
    {
        using var outbox = Outbox(Dispatcher());
        await outbox.StartAsync(Ct);
        await outbox.Reconciled;
        var queued = WebhookJob("video_filter", events: [WebhookEvents.Succeeded]);
        var running = queued with { Status = JobStatus.Running, StartedAt = _clock.GetUtcNow(), Progress = 10 };
        var done = running with { Status = JobStatus.Succeeded, Progress = 100 };

        outbox.OnJobChanged(null, queued);
        outbox.OnJobChanged(queued, running);
        outbox.OnJobChanged(running, running with { Progress = 50 });
        outbox.OnJobChanged(running, done);

        await Eventually.TrueAsync(async () => (await _store.ListForJobAsync("video_filter", Ct)).Count > 0, "the succeeded event");
        await outbox.StopAsync(Ct);
        var log = await _store.ListForJobAsync("video_filter", Ct);
        Assert.Equal([WebhookEvents.Succeeded], log.Select(l => l.Delivery.EventType));
        using var body = JsonDocument.Parse(log[0].Delivery.Payload);
        Assert.Equal(("job.succeeded", "succeeded", 100), (body.RootElement.GetProperty("type").GetString(), body.RootElement.GetProperty("data").GetProperty("status").GetString(), body.RootElement.GetProperty("data").GetProperty("progress").GetInt32()));
    }

    [Fact]
    public async Task OnJobChanged_ProgressWithinInterval_CoalescedToLatestAtIntervalEnd()
    {
        using var outbox = Outbox(Dispatcher());
        await outbox.StartAsync(Ct);
        await outbox.Reconciled;
        var running = WebhookJob("video_progress", JobStatus.Running) with { StartedAt = _clock.GetUtcNow() };

        outbox.OnJobChanged(running, running with { Progress = 10 });
        _clock.Advance(TimeSpan.FromMilliseconds(500));
        outbox.OnJobChanged(running with { Progress = 10 }, running with { Progress = 20 });
        _clock.Advance(TimeSpan.FromMilliseconds(500));
        outbox.OnJobChanged(running with { Progress = 20 }, running with { Progress = 30 });
        await Eventually.TrueAsync(async () => (await _store.ListForJobAsync("video_progress", Ct)).Count == 1, "the first progress event");
        await Task.Delay(100, Ct);
        Assert.Single(await _store.ListForJobAsync("video_progress", Ct));

        _clock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(async () => (await _store.ListForJobAsync("video_progress", Ct)).Count == 2, "the coalesced progress event");
        await outbox.StopAsync(Ct);
        var log = await _store.ListForJobAsync("video_progress", Ct);
        Assert.Equal([10, 30], log.Select(l => l.Delivery.Sequence));
        Assert.Equal(TimeSpan.FromSeconds(2), log[1].Delivery.CreatedAt - log[0].Delivery.CreatedAt);
    }

    [Fact]
    public async Task ReconcileAsync_JobChangedButNoRows_EnqueuesImpliedEventsOnce()
    {
        // A crash after the job's change and before its outbox rows: the job succeeded, the outbox knows nothing.
        var job = WebhookJob("video_crash") with { Status = JobStatus.Succeeded, StartedAt = _clock.GetUtcNow(), CompletedAt = _clock.GetUtcNow(), Progress = 100 };
        await _jobs.InsertAsync(job with { CreatedAt = _clock.GetUtcNow(), UpdatedAt = _clock.GetUtcNow() }, Ct);

        using (var outbox = Outbox(Dispatcher()))
        {
            Assert.Equal(3, await outbox.ReconcileAsync(Ct));
        }

        using (var again = Outbox(Dispatcher()))
        {
            Assert.Equal(0, await again.ReconcileAsync(Ct));
        }

        Assert.Equal([WebhookEvents.Queued, WebhookEvents.Running, WebhookEvents.Succeeded], (await _store.ListForJobAsync("video_crash", Ct)).Select(l => l.Delivery.EventType));
    }
}
