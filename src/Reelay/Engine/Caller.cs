namespace Reelay.Engine;

/// <summary>Who is asking: an API key id, and whether it may act across owners.</summary>
/// <param name="KeyId">The key's id (the owner recorded on its jobs).</param>
/// <param name="IsAdmin">Admin keys see and act on every owner's jobs.</param>
public sealed record Caller(string KeyId, bool IsAdmin)
{
    /// <summary>The bootstrap admin key's id.</summary>
    public const string AdminKeyId = "admin";

    /// <summary>The bootstrap admin.</summary>
    public static Caller Admin { get; } = new(AdminKeyId, true);

    /// <summary>Whether this caller may see a job owned by <paramref name="owner"/>.</summary>
    public bool CanSee(string owner) => IsAdmin || string.Equals(owner, KeyId, StringComparison.Ordinal);
}
