namespace Reelay.Accounts;

/// <summary>
/// Durable keys, charges and idempotency records, in the same database as the jobs so that a job, its hold and its
/// idempotency record are written in one transaction (see <see cref="Storage.IJobStore.InsertAsync(Jobs.Job, JobAdmission, CancellationToken)"/>).
/// Every change of money is one transaction guarded by the charge's state, so it happens exactly once.
/// </summary>
public interface IAccountStore
{
    /// <summary>Stores a new key with the hash of its secret.</summary>
    Task CreateKeyAsync(ApiKeyRecord key, string secretHash, CancellationToken cancellationToken);

    /// <summary>The key whose secret hashes to <paramref name="secretHash"/>, or null.</summary>
    Task<ApiKeyRecord?> FindKeyByHashAsync(string secretHash, CancellationToken cancellationToken);

    /// <summary>A key by id, or null.</summary>
    Task<ApiKeyRecord?> GetKeyAsync(string id, CancellationToken cancellationToken);

    /// <summary>Every key, oldest first.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(CancellationToken cancellationToken);

    /// <summary>Applies changes; returns the key as stored, or null when there is no such key.</summary>
    Task<ApiKeyRecord?> UpdateKeyAsync(string id, ApiKeyChanges changes, CancellationToken cancellationToken);

    /// <summary>Revokes a key (idempotent: the first revocation time stays); null when there is no such key.</summary>
    Task<ApiKeyRecord?> RevokeKeyAsync(string id, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>A job's charge, or null.</summary>
    Task<ChargeRecord?> GetChargeAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>Charges, newest first.</summary>
    Task<IReadOnlyList<ChargeRecord>> ListChargesAsync(ChargeQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Closes a held charge (held → settled, released or unresolved) and moves the money on its key, in one
    /// transaction. Returns false when the charge is not held (already closed, or none): the caller lost a race and nothing changed.
    /// </summary>
    Task<bool> CloseChargeAsync(string jobId, ChargeClosure closure, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// Resolves an unresolved charge (unresolved → settled or released) by an admin. Returns false when it is not unresolved.
    /// </summary>
    Task<bool> ResolveChargeAsync(string jobId, ChargeClosure closure, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Held charges whose job reached a terminal state (or no longer exists): work left by a crash.</summary>
    Task<IReadOnlyList<string>> ListHeldChargesOfFinishedJobsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Usage per key and model.</summary>
    Task<IReadOnlyList<UsageRow>> UsageAsync(UsageQuery query, CancellationToken cancellationToken);

    /// <summary>The job an idempotency key was first used for, with its request fingerprint; null when unused (or purged).</summary>
    Task<IdempotencyRecord?> FindIdempotencyAsync(string owner, string key, CancellationToken cancellationToken);

    /// <summary>Deletes idempotency records created before <paramref name="before"/>; returns how many.</summary>
    Task<int> PurgeIdempotencyAsync(DateTimeOffset before, CancellationToken cancellationToken);
}

/// <summary>A used idempotency key.</summary>
/// <param name="JobId">The job it created.</param>
/// <param name="Fingerprint">The request's fingerprint.</param>
/// <param name="CreatedAt">When it was first used.</param>
public sealed record IdempotencyRecord(string JobId, string Fingerprint, DateTimeOffset CreatedAt);

/// <summary>What must hold, atomically with a job's insert: its owner's limits and budget, and its idempotency key.</summary>
public sealed record JobAdmission
{
    /// <summary>The key that pays and whose limits apply.</summary>
    public required string KeyId { get; init; }

    /// <summary>The price tier.</summary>
    public required string Tier { get; init; }

    /// <summary>The price per second, locked now.</summary>
    public required long PricePerSecondMicros { get; init; }

    /// <summary>The amount to hold (price × requested seconds).</summary>
    public required long HoldMicros { get; init; }

    /// <summary>The client's idempotency key, if any.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>The request's fingerprint, with <see cref="IdempotencyKey"/>.</summary>
    public string? Fingerprint { get; init; }
}

/// <summary>Why a job was not admitted.</summary>
public enum AdmissionRefusal
{
    /// <summary>The budget cannot cover the hold.</summary>
    Budget,

    /// <summary>The key has as many unfinished jobs as it may.</summary>
    InFlight,

    /// <summary>The key is revoked, expired or gone.</summary>
    KeyInactive,
}

/// <summary>Thrown by an admitted insert when the key's limits or budget refuse it; nothing was stored.</summary>
public sealed class AdmissionRefusedException(AdmissionRefusal reason, ApiKeyRecord? key)
    : Exception($"The job was not admitted: {reason}.")
{
    /// <summary>Why.</summary>
    public AdmissionRefusal Reason { get; } = reason;

    /// <summary>The key as it stood when refused.</summary>
    public ApiKeyRecord? Key { get; } = key;
}

/// <summary>Thrown by an admitted insert when the owner already used the idempotency key; nothing was stored.</summary>
public sealed class IdempotencyKeyUsedException(IdempotencyRecord existing) : Exception($"The idempotency key was already used for job '{existing.JobId}'.")
{
    /// <summary>The first use.</summary>
    public IdempotencyRecord Existing { get; } = existing;
}
