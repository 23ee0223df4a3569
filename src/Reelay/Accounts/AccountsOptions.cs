namespace Reelay.Accounts;

/// <summary>API keys, limits, money and idempotency.</summary>
public sealed class AccountsOptions
{
    /// <summary>How long a key read from the store is trusted before it is read again (revocation on another node takes this long; on this node it is immediate).</summary>
    public TimeSpan KeyCacheLifetime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The Retry-After sent when a key has as many unfinished jobs as it may.</summary>
    public TimeSpan InFlightRetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an Idempotency-Key is remembered (at least 24 hours).</summary>
    public TimeSpan IdempotencyRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often held charges of finished jobs are looked for and closed (repairs what a crash left).</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Every problem with these settings, each naming its key; empty when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (KeyCacheLifetime < TimeSpan.Zero || KeyCacheLifetime > TimeSpan.FromMinutes(10))
        {
            yield return "Reelay:Accounts:KeyCacheLifetime must be 0 to 10 minutes.";
        }

        if (InFlightRetryAfter < TimeSpan.FromSeconds(1) || InFlightRetryAfter > TimeSpan.FromHours(1))
        {
            yield return "Reelay:Accounts:InFlightRetryAfter must be 1 second to 1 hour.";
        }

        if (IdempotencyRetention < TimeSpan.FromHours(24))
        {
            yield return $"Reelay:Accounts:IdempotencyRetention must be at least 24 hours (got {IdempotencyRetention}).";
        }

        if (ReconcileInterval < TimeSpan.FromSeconds(1) || ReconcileInterval > TimeSpan.FromHours(1))
        {
            yield return "Reelay:Accounts:ReconcileInterval must be 1 second to 1 hour.";
        }
    }
}
