using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Reelay.Accounts;

/// <summary>
/// Keys that passed verification (their SHA-256 found in the store, active), by the exact secret the client presented,
/// so that the next request with the same key skips hashing it (a SHA-256 per request was about 3 % of a status read's
/// CPU). Bounded: at <see cref="Capacity"/> entries, adding one evicts the oldest-verified.
/// </summary>
/// <remarks>
/// Why this is safe:
/// <list type="bullet">
/// <item>Only verified, active keys enter (a wrong or unknown key never does, so nobody can fill or churn it without a
/// valid secret); a hit still checks the record's revocation and expiry at the request's time, and the owner of the
/// cache (<see cref="ApiKeyService"/>) ignores a hit older than Reelay:Accounts:KeyCacheLifetime, as before.</item>
/// <item>Revoking or changing a key on this node removes its entries at once (<see cref="Forget"/>), and a verification
/// that read the store before that removal cannot put its stale record back (<see cref="Generation"/>).</item>
/// <item>Constant time: entries are compared with <see cref="CryptographicOperations.FixedTimeEquals"/> over the whole
/// secret, and bucketed by .NET's string hash, which is seeded randomly per process (Marvin) and takes time by length
/// only, so neither step tells a caller how much of a guess matched. Lengths are public (the key format is).</item>
/// </list>
/// The secrets themselves are held in memory while cached, as every request's headers are; they are never written
/// anywhere. Hand-written because the caches at hand (MemoryCache, ConcurrentDictionary with the default comparer)
/// compare keys with ordinary, early-exit string equality.
/// </remarks>
internal sealed class VerifiedKeyCache
{
    /// <summary>The default number of entries: far more keys than a gateway has in active use at once.</summary>
    public const int DefaultCapacity = 4096;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(SecretComparer.Instance);
    private long _generation;

    /// <summary>Creates a cache of at most <paramref name="capacity"/> entries.</summary>
    public VerifiedKeyCache(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    /// <summary>The most entries kept.</summary>
    public int Capacity { get; }

    /// <summary>Entries now.</summary>
    public int Count => _entries.Count;

    /// <summary>Changes whenever entries are forgotten: read it before a store read, and pass it to <see cref="Add"/>.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>The key verified for exactly <paramref name="presented"/>, and when it was read from the store.</summary>
    public bool TryGet(string presented, out ApiKeyRecord key, out DateTimeOffset verifiedAt)
    {
        if (_entries.TryGetValue(presented, out var entry))
        {
            (key, verifiedAt) = (entry.Key, entry.VerifiedAt);
            return true;
        }

        (key, verifiedAt) = (null!, default);
        return false;
    }

    /// <summary>
    /// Remembers <paramref name="key"/> (verified and active) for <paramref name="presented"/>, unless a key was forgotten
    /// since <paramref name="generation"/> was read (the record may then be the one that was just revoked).
    /// </summary>
    public void Add(string presented, ApiKeyRecord key, DateTimeOffset verifiedAt, long generation)
    {
        ArgumentNullException.ThrowIfNull(presented);
        ArgumentNullException.ThrowIfNull(key);
        if (!_entries.ContainsKey(presented) && _entries.Count >= Capacity)
        {
            EvictOldest();
        }

        _entries[presented] = new Entry(key, verifiedAt);

        // Checked after the write: a Forget that ran meanwhile either removed this entry or bumped the generation.
        if (Generation != generation)
        {
            _entries.TryRemove(presented, out _);
        }
    }

    /// <summary>Drops the entry of <paramref name="presented"/> (its key is no longer found or active).</summary>
    public void Remove(string presented) => _entries.TryRemove(presented, out _);

    /// <summary>Drops every entry of the key <paramref name="keyId"/> (revoked or changed).</summary>
    public void Forget(string keyId)
    {
        Interlocked.Increment(ref _generation);
        foreach (var (secret, entry) in _entries)
        {
            if (string.Equals(entry.Key.Id, keyId, StringComparison.Ordinal))
            {
                _entries.TryRemove(secret, out _);
            }
        }
    }

    // O(Capacity), and only when a newly verified key arrives at a full cache: never for a wrong key.
    private void EvictOldest()
    {
        string? oldest = null;
        var oldestAt = DateTimeOffset.MaxValue;
        foreach (var (secret, entry) in _entries)
        {
            if (entry.VerifiedAt < oldestAt)
            {
                (oldest, oldestAt) = (secret, entry.VerifiedAt);
            }
        }

        if (oldest is not null)
        {
            _entries.TryRemove(oldest, out _);
        }
    }

    private sealed record Entry(ApiKeyRecord Key, DateTimeOffset VerifiedAt);

    /// <summary>Whole-string, constant-time equality; the per-process randomized string hash for buckets.</summary>
    private sealed class SecretComparer : IEqualityComparer<string>
    {
        public static readonly SecretComparer Instance = new();

        public bool Equals(string? x, string? y) =>
            x is not null && y is not null && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(x.AsSpan()), MemoryMarshal.AsBytes(y.AsSpan()));

        public int GetHashCode(string obj) => string.GetHashCode(obj.AsSpan(), StringComparison.Ordinal);
    }
}
