using System.Text.Json.Serialization;
using Reelay.Client.Serialization;

namespace Reelay.Client.Admin;

/// <summary>The scopes of an API key, as the server writes them.</summary>
public static class ApiKeyScope
{
    /// <summary>Sees and manages only its own jobs.</summary>
    public const string Client = "client";

    /// <summary>Sees every owner's jobs and manages keys, usage and charges.</summary>
    public const string Admin = "admin";
}

/// <summary>
/// An API key as the admin API shows it (<c>/admin/keys</c>). The secret (<see cref="Key"/>) is present only in the
/// answer to <see cref="ReelayClient.CreateApiKeyAsync"/>; the server keeps only its hash.
/// </summary>
public sealed class ApiKey
{
    /// <summary>The key's id (not its secret); <c>admin</c> for the bootstrap admin key.</summary>
    public string Id { get; init; } = "";

    /// <summary>Always <c>api_key</c>.</summary>
    public string Object { get; init; } = "api_key";

    /// <summary>Who or what uses the key.</summary>
    public string Name { get; init; } = "";

    /// <summary>One of the <see cref="ApiKeyScope"/> values.</summary>
    public string Scope { get; init; } = ApiKeyScope.Client;

    /// <summary>The first characters of the secret, to recognise it by; null for keys without one.</summary>
    public string? Prefix { get; init; }

    /// <summary>When the key was created.</summary>
    [JsonConverter(typeof(UnixSecondsConverter))]
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the key stops working, or null for never.</summary>
    [JsonConverter(typeof(NullableUnixSecondsConverter))]
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>When the key was revoked, or null.</summary>
    [JsonConverter(typeof(NullableUnixSecondsConverter))]
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>Whether the key works now: neither revoked nor expired.</summary>
    public bool Active { get; init; }

    /// <summary>The models the key may use, or null for every model.</summary>
    public IReadOnlyList<string>? Models { get; init; }

    /// <summary>The most submits per minute, or null for no limit.</summary>
    public int? RateLimitPerMinute { get; init; }

    /// <summary>The most unfinished jobs at once, or null for no limit.</summary>
    public int? MaxJobsInFlight { get; init; }

    /// <summary>The key's budget in USD, or null for no budget.</summary>
    public decimal? BudgetUsd { get; init; }

    /// <summary>What the key's settled charges cost, in USD.</summary>
    public decimal SpentUsd { get; init; }

    /// <summary>What is held for the key's unfinished (or unresolved) jobs, in USD.</summary>
    public decimal HeldUsd { get; init; }

    /// <summary>The budget left (budget - spent - held), in USD, or null when the key has no budget.</summary>
    public decimal? AvailableUsd { get; init; }

    /// <summary>How many of the key's jobs have not finished.</summary>
    public int JobsInFlight { get; init; }

    /// <summary>The secret, present only in the answer that created the key: it is never shown again.</summary>
    public string? Key { get; init; }
}
