namespace Reelay.Client.Admin;

/// <summary>A new API key (<c>POST /admin/keys</c>). Null fields take the server's defaults: no limit, no expiry.</summary>
public sealed class CreateApiKeyRequest
{
    /// <summary>Who or what uses the key. Required.</summary>
    public required string Name { get; set; }

    /// <summary>One of the <see cref="ApiKeyScope"/> values; null for <see cref="ApiKeyScope.Client"/>.</summary>
    public string? Scope { get; set; }

    /// <summary>The models the key may use; null for every model.</summary>
    public IReadOnlyList<string>? Models { get; set; }

    /// <summary>The most submits per minute; null for no limit.</summary>
    public int? RateLimitPerMinute { get; set; }

    /// <summary>The most unfinished jobs at once; null for no limit.</summary>
    public int? MaxJobsInFlight { get; set; }

    /// <summary>The budget in USD (at most six decimal places); null for no budget.</summary>
    public decimal? BudgetUsd { get; set; }

    /// <summary>When the key stops working (sent in whole seconds); null for never.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }
}

/// <summary>
/// Changes to an API key (<c>PATCH /admin/keys/{id}</c>). Every field defaults to "leave unchanged"; set a value, or
/// <see cref="FieldUpdate{T}.Clear"/> to remove a limit. The scope cannot change.
/// </summary>
/// <example><code>new UpdateApiKeyRequest { BudgetUsd = 10m, RateLimitPerMinute = FieldUpdate&lt;int&gt;.Clear }</code></example>
public sealed class UpdateApiKeyRequest
{
    /// <summary>The new name, or null to leave it.</summary>
    public string? Name { get; set; }

    /// <summary>The models the key may use; <see cref="FieldUpdate{T}.Clear"/> allows every model.</summary>
    public FieldUpdate<IReadOnlyList<string>> Models { get; set; }

    /// <summary>The most submits per minute; <see cref="FieldUpdate{T}.Clear"/> for no limit.</summary>
    public FieldUpdate<int> RateLimitPerMinute { get; set; }

    /// <summary>The most unfinished jobs at once; <see cref="FieldUpdate{T}.Clear"/> for no limit.</summary>
    public FieldUpdate<int> MaxJobsInFlight { get; set; }

    /// <summary>The budget in USD; <see cref="FieldUpdate{T}.Clear"/> for no budget.</summary>
    public FieldUpdate<decimal> BudgetUsd { get; set; }

    /// <summary>When the key stops working (sent in whole seconds); <see cref="FieldUpdate{T}.Clear"/> for never.</summary>
    public FieldUpdate<DateTimeOffset> ExpiresAt { get; set; }
}
