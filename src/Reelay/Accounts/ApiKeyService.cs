using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Cluster;
using Reelay.Jobs;

namespace Reelay.Accounts;

/// <summary>
/// API keys as the gateway uses them: authentication by hash (with a short cache), creation (the secret is returned
/// once and never stored), changes and revocation, and the per-key submit rule (model allowlist and submit rate). The
/// submit rate is counted in process (one node), or, with shared counters (several nodes on PostgreSQL), for all nodes
/// together; when those cannot be reached, each node counts on its own until they answer again.
/// </summary>
public sealed class ApiKeyService : IDisposable
{
    private readonly IAccountStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _cacheLifetime;
    private readonly ISubmitRateCounters? _sharedRate;
    private readonly ILogger _log;
    private int _sharedRateLost;
    private readonly ConcurrentDictionary<string, (ApiKeyRecord? Key, DateTimeOffset ReadAt)> _byHash = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (ApiKeyRecord? Key, DateTimeOffset ReadAt)> _byId = new(StringComparer.Ordinal);
    private readonly VerifiedKeyCache _verified;

    // One sliding window per key and limit: a changed limit starts a new window.
    private readonly PartitionedRateLimiter<string> _submitRate = PartitionedRateLimiter.Create<string, string>(resource =>
        RateLimitPartition.GetSlidingWindowLimiter(resource, partition => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = int.Parse(partition[(partition.LastIndexOf('|') + 1)..], CultureInfo.InvariantCulture),
            Window = TimeSpan.FromMinutes(1),
            SegmentsPerWindow = 12,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    /// <summary>What a refused submit is told to wait: one segment of the sliding minute (as the in-process limiter, which reports none).</summary>
    public static readonly TimeSpan SubmitRetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>Creates the service; with <paramref name="sharedRate"/> the submit rate holds for every node sharing it.</summary>
    public ApiKeyService(IAccountStore store, TimeProvider time, ReelayOptions options, ISubmitRateCounters? sharedRate = null, ILogger<ApiKeyService>? logger = null)
        : this(store, time, options, VerifiedKeyCache.DefaultCapacity, sharedRate, logger)
    {
    }

    /// <summary>Creates the service with a verified-key cache of <paramref name="verifiedKeyCapacity"/> entries (tests).</summary>
    internal ApiKeyService(IAccountStore store, TimeProvider time, ReelayOptions options, int verifiedKeyCapacity, ISubmitRateCounters? sharedRate = null, ILogger<ApiKeyService>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _verified = new VerifiedKeyCache(verifiedKeyCapacity);
        _store = store;
        _time = time;
        _cacheLifetime = options.Accounts.KeyCacheLifetime;
        _sharedRate = sharedRate is { IsShared: true } ? sharedRate : null;
        _log = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>The active key whose secret is <paramref name="presented"/>, or null.</summary>
    public async ValueTask<ApiKeyRecord?> AuthenticateAsync(string presented, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(presented);
        if (TryAuthenticateVerified(presented, out var verified))
        {
            return verified;
        }

        if (!presented.StartsWith(ApiKeySecrets.KeyPrefix, StringComparison.Ordinal) || presented.Length > 256)
        {
            return null;
        }

        var generation = _verified.Generation;
        var hash = ApiKeySecrets.Hash(presented);
        var now = _time.GetUtcNow();
        if (!_byHash.TryGetValue(hash, out var cached) || now - cached.ReadAt > _cacheLifetime)
        {
            var key = await _store.FindKeyByHashAsync(hash, cancellationToken).ConfigureAwait(false);
            cached = (key, now);
            if (_byHash.Count > 100_000)
            {
                _byHash.Clear();
            }

            _byHash[hash] = cached;
            if (_verified.Generation != generation)
            {
                // A key was revoked or changed while this read ran: the record may predate that, so it is not kept.
                _byHash.TryRemove(hash, out _);
            }
        }

        if (cached.Key is { } found && found.IsActive(now))
        {
            _verified.Add(presented, found, cached.ReadAt, generation);
            return found;
        }

        _verified.Remove(presented);
        return null;
    }

    /// <summary>
    /// Answers from the keys verified recently (by the exact secret presented, see <see cref="VerifiedKeyCache"/>) without
    /// hashing or reading the store: true with the key, or with null when that key is no longer active (revoked here,
    /// expired); false when the secret was not verified within Reelay:Accounts:KeyCacheLifetime (ask
    /// <see cref="AuthenticateAsync"/>).
    /// </summary>
    public bool TryAuthenticateVerified(string presented, out ApiKeyRecord? key)
    {
        ArgumentNullException.ThrowIfNull(presented);
        key = null;
        if (!_verified.TryGet(presented, out var found, out var verifiedAt))
        {
            return false;
        }

        var now = _time.GetUtcNow();
        if (now - verifiedAt > _cacheLifetime)
        {
            return false;
        }

        key = found.IsActive(now) ? found : null;
        return true;
    }

    /// <summary>A key by id (cached briefly), or null.</summary>
    public async ValueTask<ApiKeyRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (!_byId.TryGetValue(id, out var cached) || now - cached.ReadAt > _cacheLifetime)
        {
            cached = (await _store.GetKeyAsync(id, cancellationToken).ConfigureAwait(false), now);
            _byId[id] = cached;
        }

        return cached.Key;
    }

    /// <summary>Creates a key; the returned secret is shown once and never stored.</summary>
    public async Task<(ApiKeyRecord Key, string Secret)> CreateAsync(NewApiKey request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 200)
        {
            throw ReelayException.Invalid("name", "name is required: 1 to 200 characters that say who or what uses the key.");
        }

        var now = _time.GetUtcNow();
        if (request.ExpiresAt is { } expires && expires <= now)
        {
            throw ReelayException.Invalid("expires_at", $"expires_at {expires:u} is in the past; give a future time or leave it out for a key that does not expire.");
        }

        CheckLimits(request.SubmitsPerMinute, request.MaxJobsInFlight, request.BudgetMicros);
        var (id, secret) = ApiKeySecrets.Create();
        var key = new ApiKeyRecord
        {
            Id = id,
            Name = request.Name.Trim(),
            Scope = request.Scope,
            Prefix = ApiKeySecrets.DisplayPrefix(secret),
            CreatedAt = now,
            ExpiresAt = request.ExpiresAt,
            AllowedModels = request.AllowedModels,
            SubmitsPerMinute = request.SubmitsPerMinute,
            MaxJobsInFlight = request.MaxJobsInFlight,
            BudgetMicros = request.BudgetMicros,
        };
        await _store.CreateKeyAsync(key, ApiKeySecrets.Hash(secret), cancellationToken).ConfigureAwait(false);
        return (key, secret);
    }

    /// <summary>Every key.</summary>
    public Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken) => _store.ListKeysAsync(cancellationToken);

    /// <summary>A key straight from the store (uncached), or not_found.</summary>
    public async Task<ApiKeyRecord> ReadAsync(string id, CancellationToken cancellationToken) =>
        await _store.GetKeyAsync(id, cancellationToken).ConfigureAwait(false) ?? throw KeyNotFound(id);

    /// <summary>Changes a key's name, expiry, allowlist, limits or budget.</summary>
    public async Task<ApiKeyRecord> UpdateAsync(string id, ApiKeyChanges changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.Name is { } name && (string.IsNullOrWhiteSpace(name) || name.Length > 200))
        {
            throw ReelayException.Invalid("name", "name must be 1 to 200 characters.");
        }

        CheckLimits(changes.SubmitsPerMinute.Value, changes.MaxJobsInFlight.Value, changes.BudgetMicros.Value);
        var key = await _store.UpdateKeyAsync(id, changes, cancellationToken).ConfigureAwait(false) ?? throw KeyNotFound(id);
        Forget(key.Id);
        return key;
    }

    /// <summary>Revokes a key: it stops authenticating at once on this node (within the cache lifetime on others).</summary>
    public async Task<ApiKeyRecord> RevokeAsync(string id, CancellationToken cancellationToken)
    {
        if (id == Engine.Caller.AdminKeyId)
        {
            throw new ReelayException(ErrorCodes.Conflict, "The bootstrap admin key cannot be revoked here; change REELAY_ADMIN_KEY (Reelay:AdminKey) instead.", "id");
        }

        var key = await _store.RevokeKeyAsync(id, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false) ?? throw KeyNotFound(id);
        Forget(key.Id);
        return key;
    }

    /// <summary>
    /// The per-key rule for a submit: the model must be on the key's allowlist, and the key within its submit rate.
    /// Throws forbidden or rate_limited (with Retry-After). Reads never come here.
    /// </summary>
    public async ValueTask CheckSubmitAsync(string keyId, string model, CancellationToken cancellationToken)
    {
        var key = await GetAsync(keyId, cancellationToken).ConfigureAwait(false);
        if (key is null)
        {
            return;
        }

        if (key.AllowedModels is { } allowed && !allowed.Contains(model, StringComparer.Ordinal))
        {
            throw new ReelayException(ErrorCodes.Forbidden,
                allowed.Count == 0
                    ? $"This API key may not submit to any model (its allowlist is empty); model '{model}' is refused."
                    : $"This API key may not use model '{model}'; allowed: {string.Join(", ", allowed)}.",
                "model");
        }

        if (key.SubmitsPerMinute is { } perMinute)
        {
            var retry = await TryCountSubmitAsync(key.Id, perMinute, cancellationToken).ConfigureAwait(false);
            if (retry is { } after)
            {
                throw new ReelayException(
                    new JobError(ErrorCodes.RateLimited, $"This API key may submit {perMinute} jobs per minute and has used them; try again in {Math.Ceiling(after.TotalSeconds)} s."),
                    after);
            }
        }
    }

    /// <summary>Counts one submit against the key's rate: null when allowed, otherwise how long to wait.</summary>
    private async ValueTask<TimeSpan?> TryCountSubmitAsync(string keyId, int perMinute, CancellationToken cancellationToken)
    {
        if (_sharedRate is not null)
        {
            try
            {
                var counted = await _sharedRate.TryCountAsync(keyId, perMinute, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                if (Interlocked.Exchange(ref _sharedRateLost, 0) == 1)
                {
                    ClusterLog.SubmitRateBack(_log);
                }

                return counted ? null : SubmitRetryAfter;
            }
#pragma warning disable CA1031 // Whatever the shared counters throw, the submit is judged by this node's own count instead.
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
            {
                if (Interlocked.Exchange(ref _sharedRateLost, 1) == 0)
                {
                    ClusterLog.SubmitRateLost(_log, e.GetType().Name);
                }
            }
        }

        using var lease = _submitRate.AttemptAcquire($"{keyId}|{perMinute}");
        return lease.IsAcquired ? null : lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : SubmitRetryAfter;
    }

    /// <inheritdoc />
    public void Dispose() => _submitRate.Dispose();

    private void Forget(string id)
    {
        _verified.Forget(id);
        _byId.TryRemove(id, out _);
        foreach (var entry in _byHash.Where(e => e.Value.Key?.Id == id).ToList())
        {
            _byHash.TryRemove(entry.Key, out _);
        }
    }

    private static void CheckLimits(int? perMinute, int? inFlight, long? budget)
    {
        if (perMinute is < 1 or > 1_000_000)
        {
            throw ReelayException.Invalid("rate_limit_per_minute", $"rate_limit_per_minute {perMinute} is out of range; allowed: 1 to 1000000, or null for no limit.");
        }

        if (inFlight is < 1 or > 1_000_000)
        {
            throw ReelayException.Invalid("max_jobs_in_flight", $"max_jobs_in_flight {inFlight} is out of range; allowed: 1 to 1000000, or null for no limit.");
        }

        if (budget is < 0)
        {
            throw ReelayException.Invalid("budget_usd", "budget_usd must be 0 or more, or null for no budget.");
        }
    }

    private static ReelayException KeyNotFound(string id) => new(ErrorCodes.NotFound, $"No API key with id '{id}' was found.", "id");
}

/// <summary>What an admin asks for when creating a key.</summary>
public sealed record NewApiKey
{
    /// <summary>A name for people.</summary>
    public required string Name { get; init; }

    /// <summary>Admin or client (default).</summary>
    public ApiKeyScope Scope { get; init; } = ApiKeyScope.Client;

    /// <summary>When it stops working; null: never.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Models it may submit to; null: all.</summary>
    public IReadOnlyList<string>? AllowedModels { get; init; }

    /// <summary>Submits per minute; null: no limit.</summary>
    public int? SubmitsPerMinute { get; init; }

    /// <summary>Unfinished jobs at once; null: no limit.</summary>
    public int? MaxJobsInFlight { get; init; }

    /// <summary>Budget in micro-USD; null: none.</summary>
    public long? BudgetMicros { get; init; }
}
