namespace Reelay.Webhooks;

/// <summary>
/// Signed webhook deliveries (Reelay:Webhooks): one durable outbox row per event, retried with exponential backoff and
/// full jitter until it is accepted or <see cref="RetryWindow"/> has passed. Every default is documented in docs/configuration.md.
/// </summary>
public sealed class WebhookOptions
{
    /// <summary>The longest a retry waits before its first retry; each further retry may wait twice as long (full jitter: a random delay up to that).</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest delay between two attempts (also the cap on a receiver's Retry-After).</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long after the event a delivery keeps being retried before it is marked dead.</summary>
    public TimeSpan RetryWindow { get; set; } = TimeSpan.FromHours(72);

    /// <summary>How long one attempt may take, from connecting to the response headers.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deliveries in flight at once, across all jobs (one at a time per job, in order).</summary>
    public int MaxConcurrentDeliveries { get; set; } = 32;

    /// <summary>At most one job.progress event per job in this interval; the latest progress of an interval is sent at its end.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>After a secret is rotated, how long deliveries are signed with the previous secret too.</summary>
    public TimeSpan SecretGracePeriod { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Every problem with these settings, each naming its key; empty when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (FirstRetryDelay <= TimeSpan.Zero || FirstRetryDelay > MaxRetryDelay)
        {
            yield return $"Reelay:Webhooks:FirstRetryDelay must be positive and at most MaxRetryDelay (got {FirstRetryDelay}).";
        }

        if (MaxRetryDelay > TimeSpan.FromHours(6))
        {
            yield return $"Reelay:Webhooks:MaxRetryDelay must be at most 6 hours (got {MaxRetryDelay}).";
        }

        if (RetryWindow < TimeSpan.FromSeconds(1) || RetryWindow > TimeSpan.FromDays(30))
        {
            yield return $"Reelay:Webhooks:RetryWindow must be 1 second to 30 days (got {RetryWindow}).";
        }

        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(2))
        {
            yield return $"Reelay:Webhooks:Timeout must be positive and at most 2 minutes (got {Timeout}).";
        }

        if (MaxConcurrentDeliveries is < 1 or > 1024)
        {
            yield return $"Reelay:Webhooks:MaxConcurrentDeliveries must be 1 to 1024 (got {MaxConcurrentDeliveries}).";
        }

        if (ProgressInterval < TimeSpan.Zero || ProgressInterval > TimeSpan.FromMinutes(10))
        {
            yield return $"Reelay:Webhooks:ProgressInterval must be 0 to 10 minutes (got {ProgressInterval}).";
        }

        if (SecretGracePeriod < TimeSpan.Zero || SecretGracePeriod > TimeSpan.FromDays(30))
        {
            yield return $"Reelay:Webhooks:SecretGracePeriod must be 0 to 30 days (got {SecretGracePeriod}).";
        }
    }
}
