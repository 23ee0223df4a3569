namespace Reelay.Webhooks;

/// <summary>
/// The durable webhook outbox and the per-owner signing secrets. Implementations: SQLite (same database as the jobs).
/// A delivery's id (the webhook-id), body and headers are fixed when it is enqueued; only its attempt bookkeeping changes.
/// </summary>
public interface IWebhookStore
{
    /// <summary>
    /// Adds a pending delivery, unless the job already has one for the same event and sequence, or one for a later
    /// event (a later rank, or progress with a higher value): then nothing is added and false is returned.
    /// </summary>
    Task<bool> EnqueueAsync(WebhookDelivery delivery, CancellationToken cancellationToken);

    /// <summary>
    /// Pending deliveries due at <paramref name="now"/> that are first in line for their job (no earlier pending delivery
    /// of the same job), soonest first, at most <paramref name="limit"/>; jobs in <paramref name="busyJobs"/> are skipped.
    /// </summary>
    Task<IReadOnlyList<WebhookDelivery>> ListDueAsync(DateTimeOffset now, int limit, IReadOnlySet<string> busyJobs, CancellationToken cancellationToken);

    /// <summary>
    /// Like <see cref="ListDueAsync"/>, and also takes what it returns for this process until <paramref name="now"/> +
    /// <paramref name="lease"/> (its next attempt moves there), so that nodes sharing the outbox never hand out one delivery
    /// twice at once: the PostgreSQL store picks rows with <c>FOR UPDATE SKIP LOCKED</c>. Recording the attempt sets the
    /// real next attempt; a node that dies with a delivery taken leaves it to be tried again when the lease ends. The
    /// default, for a store that one process owns, is <see cref="ListDueAsync"/>.
    /// </summary>
    Task<IReadOnlyList<WebhookDelivery>> ClaimDueAsync(DateTimeOffset now, TimeSpan lease, int limit, IReadOnlySet<string> busyJobs, CancellationToken cancellationToken) =>
        ListDueAsync(now, limit, busyJobs, cancellationToken);

    /// <summary>When the next first-in-line pending delivery of a job not in <paramref name="busyJobs"/> falls due; null when there is none.</summary>
    Task<DateTimeOffset?> NextDueAsync(IReadOnlySet<string> busyJobs, CancellationToken cancellationToken);

    /// <summary>Records one attempt and the delivery's new state: delivered, dead, or pending again at <paramref name="nextAttemptAt"/>.</summary>
    Task RecordAttemptAsync(WebhookAttempt attempt, WebhookDeliveryState state, DateTimeOffset? nextAttemptAt, CancellationToken cancellationToken);

    /// <summary>A job's deliveries in the order they were enqueued, each with its attempts.</summary>
    Task<IReadOnlyList<WebhookDeliveryLog>> ListForJobAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>Ids of jobs with a webhook URL changed since <paramref name="since"/> (start-up repair of the outbox).</summary>
    Task<IReadOnlyList<string>> ListJobsWithWebhooksAsync(DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>The owner's signing secrets, creating the first one (created at <paramref name="now"/>) when there is none.</summary>
    Task<WebhookSecrets> GetOrCreateSecretsAsync(string owner, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Replaces the owner's secret by a new one; the old one stays valid for signing until <paramref name="previousExpiresAt"/>.</summary>
    Task<WebhookSecrets> RotateSecretAsync(string owner, DateTimeOffset now, DateTimeOffset previousExpiresAt, CancellationToken cancellationToken);
}

/// <summary>Where a delivery stands.</summary>
public enum WebhookDeliveryState
{
    /// <summary>Waiting for its next attempt.</summary>
    Pending = 0,

    /// <summary>The receiver answered 2xx.</summary>
    Delivered = 1,

    /// <summary>Given up: a permanent failure, or the retry window passed.</summary>
    Dead = 2,
}

/// <summary>One event for one job's webhook URL.</summary>
public sealed record WebhookDelivery
{
    /// <summary>The webhook-id: stable across every attempt.</summary>
    public required string Id { get; init; }

    /// <summary>The job.</summary>
    public required string JobId { get; init; }

    /// <summary>The job's owner, whose secret signs the delivery.</summary>
    public required string Owner { get; init; }

    /// <summary>The event type, e.g. job.succeeded.</summary>
    public required string EventType { get; init; }

    /// <summary>0, or the progress value of a job.progress event: (job, event, sequence) is unique.</summary>
    public int Sequence { get; init; }

    /// <summary>The receiver.</summary>
    public required string Url { get; init; }

    /// <summary>The body, fixed at enqueue.</summary>
    public required byte[] Payload { get; init; }

    /// <summary>Extra headers, fixed at enqueue (never secrets).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>When the event happened (enqueued).</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Pending, delivered or dead.</summary>
    public WebhookDeliveryState State { get; init; }

    /// <summary>Attempts made so far.</summary>
    public int Attempts { get; init; }

    /// <summary>When the next attempt is due (pending only).</summary>
    public required DateTimeOffset NextAttemptAt { get; init; }

    /// <summary>When the last attempt was made.</summary>
    public DateTimeOffset? LastAttemptAt { get; init; }

    /// <summary>The receiver's HTTP status at the last attempt.</summary>
    public int? LastStatusCode { get; init; }

    /// <summary>Why the last attempt failed, if it did.</summary>
    public string? LastError { get; init; }

    /// <summary>When it was delivered or given up.</summary>
    public DateTimeOffset? FinishedAt { get; init; }
}

/// <summary>One attempt to deliver.</summary>
/// <param name="DeliveryId">The webhook-id.</param>
/// <param name="Attempt">1, 2, 3...</param>
/// <param name="At">When it started.</param>
/// <param name="Duration">How long it took.</param>
/// <param name="StatusCode">The receiver's HTTP status, when it answered.</param>
/// <param name="Error">Why it failed, when it did.</param>
public sealed record WebhookAttempt(string DeliveryId, int Attempt, DateTimeOffset At, TimeSpan Duration, int? StatusCode, string? Error);

/// <summary>A delivery with its attempts, for the per-job delivery log.</summary>
/// <param name="Delivery">The delivery.</param>
/// <param name="Attempts">Its attempts, oldest first.</param>
public sealed record WebhookDeliveryLog(WebhookDelivery Delivery, IReadOnlyList<WebhookAttempt> Attempts);

/// <summary>An owner's signing secrets.</summary>
/// <param name="Current">The secret deliveries are signed with.</param>
/// <param name="CreatedAt">When <paramref name="Current"/> was made.</param>
/// <param name="Previous">The secret before the last rotation, if any.</param>
/// <param name="PreviousExpiresAt">Until when deliveries are signed with <paramref name="Previous"/> too.</param>
public sealed record WebhookSecrets(string Current, DateTimeOffset CreatedAt, string? Previous, DateTimeOffset? PreviousExpiresAt)
{
    /// <summary>The secrets to sign with at <paramref name="now"/>: the current one, and the previous one within its grace period.</summary>
    public IReadOnlyList<string> SigningSecrets(DateTimeOffset now) =>
        Previous is not null && PreviousExpiresAt > now ? [Current, Previous] : [Current];
}
