using System.Text;
using Reelay.Jobs;
using Reelay.Storage;
using Reelay.Tests.Storage;
using Reelay.Webhooks;

namespace Reelay.Tests.Webhooks;

/// <summary>A webhook store with the job store over the same database (start-up repair reads the jobs).</summary>
/// <param name="Jobs">The job store.</param>
/// <param name="Webhooks">The webhook store.</param>
public sealed record WebhookStores(IJobStore Jobs, IWebhookStore Webhooks);

/// <summary>
/// The behaviour every <see cref="IWebhookStore"/> must have: the outbox (one delivery per event, in order per job,
/// due work found by time) and the signing secrets (created once, rotated with a grace period). An implementation's
/// test class derives from this one and supplies the stores; xunit makes one instance per test, so each test gets its
/// own database.
/// </summary>
public abstract class WebhookStoreContractTests
{
    /// <summary>A fixed instant.</summary>
    protected static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_780_000_000_000);

    private static readonly IReadOnlySet<string> NoneBusy = new HashSet<string>();

    /// <summary>No test here waits on anything that may hang, so none needs a real token.</summary>
    protected static CancellationToken Ct => CancellationToken.None;

    /// <summary>Creates and initializes the stores over a new, empty database that belongs to this test.</summary>
    protected abstract Task<WebhookStores> CreateStoresAsync();

    /// <summary>Opens other stores over the database of <see cref="CreateStoresAsync"/>, as a restarted process would, after closing <paramref name="earlier"/>.</summary>
    protected abstract Task<WebhookStores> ReopenStoresAsync(WebhookStores earlier);

    [Fact]
    public async Task EnqueueAsync_NewDelivery_ListForJobReturnsEveryFieldPending()
    {
        var (_, store) = await CreateStoresAsync();
        var delivery = Delivery("video_a", WebhookEvents.Progress, 40) with { Headers = new Dictionary<string, string> { ["x-reelay-dialect"] = "openai" } };

        Assert.True(await store.EnqueueAsync(delivery, Ct));

        var log = Assert.Single(await store.ListForJobAsync("video_a", Ct));
        Assert.Empty(log.Attempts);
        var stored = log.Delivery;
        Assert.Equal((delivery.Id, "video_a", "key_a", WebhookEvents.Progress, 40, delivery.Url, delivery.CreatedAt, delivery.NextAttemptAt),
            (stored.Id, stored.JobId, stored.Owner, stored.EventType, stored.Sequence, stored.Url, stored.CreatedAt, stored.NextAttemptAt));
        Assert.Equal((WebhookDeliveryState.Pending, 0, (DateTimeOffset?)null, (int?)null, (string?)null, (DateTimeOffset?)null),
            (stored.State, stored.Attempts, stored.LastAttemptAt, stored.LastStatusCode, stored.LastError, stored.FinishedAt));
        Assert.Equal(delivery.Payload, stored.Payload);
        Assert.Equal(delivery.Headers, stored.Headers);
    }

    [Fact]
    public async Task EnqueueAsync_SameEventTwiceOrEarlierAfterLater_Refused()
    {
        var (_, store) = await CreateStoresAsync();

        Assert.True(await store.EnqueueAsync(Delivery("video_dup", WebhookEvents.Progress, 30), Ct));
        Assert.False(await store.EnqueueAsync(Delivery("video_dup", WebhookEvents.Progress, 30), Ct));
        Assert.False(await store.EnqueueAsync(Delivery("video_dup", WebhookEvents.Progress, 20), Ct));
        Assert.False(await store.EnqueueAsync(Delivery("video_dup", WebhookEvents.Running), Ct));
        Assert.True(await store.EnqueueAsync(Delivery("video_dup", WebhookEvents.Succeeded), Ct));
        Assert.False(await store.EnqueueAsync(Delivery("video_dup", WebhookEvents.Succeeded), Ct));
        Assert.True(await store.EnqueueAsync(Delivery("video_other", WebhookEvents.Running), Ct));

        Assert.Equal([WebhookEvents.Progress, WebhookEvents.Succeeded], (await store.ListForJobAsync("video_dup", Ct)).Select(l => l.Delivery.EventType));
    }

    [Fact]
    public async Task EnqueueAsync_SameEvent20Concurrently_StoredOnce()
    {
        var (_, store) = await CreateStoresAsync();

        var added = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => store.EnqueueAsync(Delivery("video_race", WebhookEvents.Succeeded), Ct)));

        Assert.Single(added, a => a);
        Assert.Single(await store.ListForJobAsync("video_race", Ct));
    }

    [Fact]
    public async Task ListDueAsync_SeveralJobs_FirstInLinePerJobDueOnlySoonestFirst()
    {
        var (_, store) = await CreateStoresAsync();
        await store.EnqueueAsync(Delivery("video_a", WebhookEvents.Running, at: Now.AddSeconds(2)), Ct);
        await store.EnqueueAsync(Delivery("video_a", WebhookEvents.Succeeded, at: Now), Ct);
        await store.EnqueueAsync(Delivery("video_b", WebhookEvents.Queued, at: Now.AddSeconds(1)), Ct);
        await store.EnqueueAsync(Delivery("video_c", WebhookEvents.Queued, at: Now.AddMinutes(1)), Ct);

        var due = await store.ListDueAsync(Now.AddSeconds(5), 10, NoneBusy, Ct);

        // video_a's later event waits for its first one even though it is due sooner; video_c is not due yet.
        Assert.Equal([("video_b", WebhookEvents.Queued), ("video_a", WebhookEvents.Running)], due.Select(d => (d.JobId, d.EventType)));
        Assert.Equal(["video_b"], (await store.ListDueAsync(Now.AddSeconds(5), 1, NoneBusy, Ct)).Select(d => d.JobId));
        Assert.Equal(["video_a"], (await store.ListDueAsync(Now.AddSeconds(5), 10, new HashSet<string> { "video_b" }, Ct)).Select(d => d.JobId));
        Assert.Empty(await store.ListDueAsync(Now, 10, NoneBusy, Ct));
    }

    [Fact]
    public async Task NextDueAsync_PendingAndBusyJobs_SoonestFirstInLineNotBusy()
    {
        var (_, store) = await CreateStoresAsync();
        Assert.Null(await store.NextDueAsync(NoneBusy, Ct));
        await store.EnqueueAsync(Delivery("video_a", WebhookEvents.Running, at: Now.AddSeconds(30)), Ct);
        await store.EnqueueAsync(Delivery("video_a", WebhookEvents.Succeeded, at: Now), Ct);
        await store.EnqueueAsync(Delivery("video_b", WebhookEvents.Queued, at: Now.AddSeconds(45)), Ct);

        Assert.Equal(Now.AddSeconds(30), await store.NextDueAsync(NoneBusy, Ct));
        Assert.Equal(Now.AddSeconds(45), await store.NextDueAsync(new HashSet<string> { "video_a" }, Ct));
        Assert.Null(await store.NextDueAsync(new HashSet<string> { "video_a", "video_b" }, Ct));
    }

    [Fact]
    public async Task RecordAttemptAsync_FailedThenDelivered_KeepsEveryAttemptAndFinishes()
    {
        var (_, store) = await CreateStoresAsync();
        var first = Delivery("video_a", WebhookEvents.Running);
        var second = Delivery("video_a", WebhookEvents.Succeeded);
        await store.EnqueueAsync(first, Ct);
        await store.EnqueueAsync(second, Ct);

        await store.RecordAttemptAsync(new WebhookAttempt(first.Id, 1, Now, TimeSpan.FromMilliseconds(120), 500, "HTTP 500"), WebhookDeliveryState.Pending, Now.AddSeconds(10), Ct);
        var retrying = (await store.ListForJobAsync("video_a", Ct))[0].Delivery;
        Assert.Equal((WebhookDeliveryState.Pending, 1, Now.AddSeconds(10), (int?)500, "HTTP 500", (DateTimeOffset?)null),
            (retrying.State, retrying.Attempts, retrying.NextAttemptAt, retrying.LastStatusCode, retrying.LastError, retrying.FinishedAt));
        Assert.Empty(await store.ListDueAsync(Now.AddSeconds(9), 10, NoneBusy, Ct));

        await store.RecordAttemptAsync(new WebhookAttempt(first.Id, 2, Now.AddSeconds(10), TimeSpan.FromMilliseconds(40), 204, null), WebhookDeliveryState.Delivered, null, Ct);

        var logs = await store.ListForJobAsync("video_a", Ct);
        Assert.Equal([first.Id, second.Id], logs.Select(l => l.Delivery.Id));
        var delivered = logs[0];
        Assert.Equal((WebhookDeliveryState.Delivered, 2, (int?)204, (string?)null, (DateTimeOffset?)Now.AddSeconds(10).AddMilliseconds(40)),
            (delivered.Delivery.State, delivered.Delivery.Attempts, delivered.Delivery.LastStatusCode, delivered.Delivery.LastError, delivered.Delivery.FinishedAt));
        Assert.Equal(
            [new WebhookAttempt(first.Id, 1, Now, TimeSpan.FromMilliseconds(120), 500, "HTTP 500"), new WebhookAttempt(first.Id, 2, Now.AddSeconds(10), TimeSpan.FromMilliseconds(40), 204, null)],
            delivered.Attempts);

        // The next event of the job is now first in line.
        Assert.Equal([second.Id], (await store.ListDueAsync(Now.AddSeconds(10), 10, NoneBusy, Ct)).Select(d => d.Id));
    }

    [Fact]
    public async Task RecordAttemptAsync_Dead_NoLongerDueAndNextInLineIs()
    {
        var (_, store) = await CreateStoresAsync();
        var first = Delivery("video_a", WebhookEvents.Running);
        var second = Delivery("video_a", WebhookEvents.Failed);
        await store.EnqueueAsync(first, Ct);
        await store.EnqueueAsync(second, Ct);

        await store.RecordAttemptAsync(new WebhookAttempt(first.Id, 1, Now, TimeSpan.Zero, 404, "HTTP 404"), WebhookDeliveryState.Dead, null, Ct);

        var dead = (await store.ListForJobAsync("video_a", Ct))[0].Delivery;
        Assert.Equal((WebhookDeliveryState.Dead, (DateTimeOffset?)Now), (dead.State, dead.FinishedAt));
        Assert.Equal([second.Id], (await store.ListDueAsync(Now, 10, NoneBusy, Ct)).Select(d => d.Id));
    }

    [Fact]
    public async Task ListForJobAsync_UnknownJob_ReturnsEmpty()
    {
        var (_, store) = await CreateStoresAsync();
        await store.EnqueueAsync(Delivery("video_a", WebhookEvents.Running), Ct);

        Assert.Empty(await store.ListForJobAsync("video_nope", Ct));
    }

    [Fact]
    public async Task ListJobsWithWebhooksAsync_MixedJobs_OnlyLiveJobsWithAUrlChangedSince()
    {
        var (jobs, store) = await CreateStoresAsync();
        var hooked = await jobs.InsertAsync(TestJobs.New("video_hooked", createdAt: Now) with { WebhookUrl = "http://127.0.0.1:9/h" }, Ct);
        await jobs.InsertAsync(TestJobs.New("video_plain", createdAt: Now), Ct);
        await jobs.InsertAsync(TestJobs.New("video_old", createdAt: Now.AddHours(-2)) with { WebhookUrl = "http://127.0.0.1:9/h" }, Ct);
        var deleted = await jobs.InsertAsync(TestJobs.New("video_deleted", createdAt: Now) with { WebhookUrl = "http://127.0.0.1:9/h" }, Ct);
        Assert.NotNull(await jobs.TryUpdateAsync(deleted with { DeletedAt = Now, UpdatedAt = Now }, Ct));

        Assert.Equal([hooked.Id], await store.ListJobsWithWebhooksAsync(Now.AddHours(-1), Ct));
        Assert.Equal([hooked.Id, "video_old"], await store.ListJobsWithWebhooksAsync(Now.AddHours(-3), Ct));
    }

    [Fact]
    public async Task GetOrCreateSecretsAsync_20ConcurrentFirstCalls_OneSecretForAll()
    {
        var (_, store) = await CreateStoresAsync();

        var secrets = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => store.GetOrCreateSecretsAsync("key_s", Now.AddSeconds(i), Ct)));

        Assert.Single(secrets.Select(s => s.Current).Distinct());
        Assert.Equal(secrets[0], await store.GetOrCreateSecretsAsync("key_s", Now.AddHours(1), Ct));
        Assert.Null(secrets[0].Previous);
        Assert.NotEqual(secrets[0].Current, (await store.GetOrCreateSecretsAsync("key_t", Now, Ct)).Current);
    }

    [Fact]
    public async Task RotateSecretAsync_WithinGrace_SignsWithBothThenOnlyNew()
    {
        var (_, store) = await CreateStoresAsync();
        var before = await store.GetOrCreateSecretsAsync("key_r", Now, Ct);

        var rotated = await store.RotateSecretAsync("key_r", Now.AddMinutes(1), Now.AddHours(24), Ct);

        Assert.NotEqual(before.Current, rotated.Current);
        Assert.Equal((before.Current, (DateTimeOffset?)Now.AddHours(24), Now.AddMinutes(1)), (rotated.Previous, rotated.PreviousExpiresAt, rotated.CreatedAt));
        Assert.Equal([rotated.Current, before.Current], rotated.SigningSecrets(Now.AddHours(1)));
        Assert.Equal([rotated.Current], rotated.SigningSecrets(Now.AddHours(25)));
        Assert.Equal(rotated, await store.GetOrCreateSecretsAsync("key_r", Now.AddHours(2), Ct));
    }

    [Fact]
    public async Task RotateSecretAsync_NoSecretYet_CreatesOneAndRotatesIt()
    {
        var (_, store) = await CreateStoresAsync();

        var rotated = await store.RotateSecretAsync("key_new", Now, Now.AddHours(1), Ct);

        Assert.NotNull(rotated.Previous);
        Assert.NotEqual(rotated.Previous, rotated.Current);
    }

    [Fact]
    public async Task ReopenStoresAsync_AfterRestart_DeliveriesAttemptsAndSecretsRemain()
    {
        var before = await CreateStoresAsync();
        var delivery = Delivery("video_a", WebhookEvents.Running);
        await before.Webhooks.EnqueueAsync(delivery, Ct);
        await before.Webhooks.RecordAttemptAsync(new WebhookAttempt(delivery.Id, 1, Now, TimeSpan.FromSeconds(1), null, "timeout"), WebhookDeliveryState.Pending, Now.AddSeconds(20), Ct);
        var secrets = await before.Webhooks.GetOrCreateSecretsAsync("key_a", Now, Ct);

        var (_, store) = await ReopenStoresAsync(before);

        var log = Assert.Single(await store.ListForJobAsync("video_a", Ct));
        Assert.Equal((1, "timeout"), (log.Delivery.Attempts, log.Attempts.Single().Error));
        Assert.Equal([delivery.Id], (await store.ListDueAsync(Now.AddSeconds(20), 10, NoneBusy, Ct)).Select(d => d.Id));
        Assert.Equal(secrets, await store.GetOrCreateSecretsAsync("key_a", Now.AddDays(1), Ct));
    }

    private static WebhookDelivery Delivery(string jobId, string eventType, int sequence = 0, DateTimeOffset? at = null) => new()
    {
        Id = WebhookSigner.NewMessageId(),
        JobId = jobId,
        Owner = "key_a",
        EventType = eventType,
        Sequence = sequence,
        Url = "http://127.0.0.1:9/hooks",
        Payload = Encoding.UTF8.GetBytes($"{{\"type\":\"{eventType}\",\"n\":{sequence}}}"),
        CreatedAt = Now,
        NextAttemptAt = at ?? Now,
    };
}
