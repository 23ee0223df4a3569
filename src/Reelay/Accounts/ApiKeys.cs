using System.Security.Cryptography;
using System.Text;

namespace Reelay.Accounts;

/// <summary>What a key may do: act across owners and manage keys (admin), or submit and read its own jobs (client).</summary>
public enum ApiKeyScope
{
    /// <summary>Its own jobs only.</summary>
    Client,

    /// <summary>Every owner's jobs, keys, usage and charges.</summary>
    Admin,
}

/// <summary>A stored API key: never the key itself, only its SHA-256 hash, a short display prefix and its limits and money.</summary>
public sealed record ApiKeyRecord
{
    /// <summary>The id, the owner recorded on its jobs (key_...; the bootstrap admin is "admin").</summary>
    public required string Id { get; init; }

    /// <summary>A name for people.</summary>
    public required string Name { get; init; }

    /// <summary>Admin or client.</summary>
    public required ApiKeyScope Scope { get; init; }

    /// <summary>The first characters of the key, to recognise it in lists (null for the bootstrap admin).</summary>
    public string? Prefix { get; init; }

    /// <summary>When it was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>It stops working at this time; null: never.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>When it was revoked; null: not revoked.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>Public model names it may submit to; null: every model.</summary>
    public IReadOnlyList<string>? AllowedModels { get; init; }

    /// <summary>Submits allowed per minute; null: no limit.</summary>
    public int? SubmitsPerMinute { get; init; }

    /// <summary>Unfinished jobs allowed at once; null: no limit.</summary>
    public int? MaxJobsInFlight { get; init; }

    /// <summary>The total it may spend, in micro-USD; null: no budget (unlimited).</summary>
    public long? BudgetMicros { get; init; }

    /// <summary>Money held for jobs not yet settled or released, in micro-USD.</summary>
    public long HeldMicros { get; init; }

    /// <summary>Money settled (spent), in micro-USD.</summary>
    public long SpentMicros { get; init; }

    /// <summary>Its unfinished jobs now.</summary>
    public int JobsInFlight { get; init; }

    /// <summary>Budget minus spent minus held; null without a budget.</summary>
    public long? AvailableMicros => BudgetMicros is { } budget ? budget - SpentMicros - HeldMicros : null;

    /// <summary>Whether it authenticates at <paramref name="now"/>.</summary>
    public bool IsActive(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is not { } expires || expires > now);
}

/// <summary>The changes an admin may make to a key; null fields stay as they are.</summary>
public sealed record ApiKeyChanges
{
    /// <summary>A new name.</summary>
    public string? Name { get; init; }

    /// <summary>Set or clear the expiry.</summary>
    public Optional<DateTimeOffset?> ExpiresAt { get; init; }

    /// <summary>Set or clear the model allowlist.</summary>
    public Optional<IReadOnlyList<string>?> AllowedModels { get; init; }

    /// <summary>Set or clear the submit rate.</summary>
    public Optional<int?> SubmitsPerMinute { get; init; }

    /// <summary>Set or clear the in-flight limit.</summary>
    public Optional<int?> MaxJobsInFlight { get; init; }

    /// <summary>Set or clear the budget (micro-USD).</summary>
    public Optional<long?> BudgetMicros { get; init; }
}

/// <summary>A value that may be absent (unchanged) or present (possibly null: cleared).</summary>
public readonly record struct Optional<T>(bool HasValue, T Value)
{
    /// <summary>A present value.</summary>
    public static implicit operator Optional<T>(T value) => new(true, value);
}

/// <summary>Making and hashing key secrets. Keys are 32 random bytes, so one SHA-256 is a safe stored form.</summary>
public static class ApiKeySecrets
{
    /// <summary>What every Reelay client key starts with.</summary>
    public const string KeyPrefix = "rk_";

    /// <summary>A new key id and its secret: id key_&lt;12 hex&gt;, secret rk_&lt;12 hex&gt;_&lt;base64url 32 bytes&gt;.</summary>
    public static (string Id, string Secret) Create()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return ("key_" + id, $"{KeyPrefix}{id}_{secret}");
    }

    /// <summary>The first characters shown in lists ("rk_3f2a9c1b2d4e_…").</summary>
    public static string DisplayPrefix(string secret) => secret.Length <= 16 ? secret : secret[..16] + "…";

    /// <summary>The stored hash of a presented key (lower-case hex SHA-256 of its UTF-8 bytes).</summary>
    public static string Hash(ReadOnlySpan<char> key)
    {
        var bytes = Encoding.UTF8.GetBytes(key.ToArray());
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }
}
