using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Reelay.Providers.Http;

namespace Reelay.Cluster;

/// <summary>
/// Token buckets shared by the nodes (PostgreSQL: one row per bucket). A take refills the bucket by the time elapsed since
/// the last one (at <see cref="LeasedRateShape.RefillPerSecond"/>, up to <see cref="LeasedRateShape.Capacity"/>) and takes
/// up to <see cref="LeasedRateShape.Batch"/> whole permits, in one statement.
/// </summary>
public interface ITokenBuckets
{
    /// <summary>
    /// Refills <paramref name="bucket"/> and takes up to a batch from it. With <paramref name="reportPresence"/> the node
    /// also says it uses the bucket, and the answer counts the nodes that said so lately (otherwise 0: unknown).
    /// Throws when the store cannot be reached.
    /// </summary>
    Task<BucketTake> TakeAsync(string bucket, LeasedRateShape shape, string nodeId, bool reportPresence, CancellationToken cancellationToken);
}

/// <summary>What a take got.</summary>
/// <param name="Taken">Permits taken (0 when the bucket holds less than one).</param>
/// <param name="TokensLeft">What the bucket holds after the take (a fraction of a permit when <paramref name="Taken"/> is 0).</param>
/// <param name="LiveNodes">Nodes that used the bucket lately, this one included; 0 when not asked.</param>
public readonly record struct BucketTake(int Taken, double TokensLeft, int LiveNodes);

/// <summary>
/// The shape of a shared bucket for a limit of <see cref="Limit"/> requests per second. A node uses a leased permit only
/// until <see cref="LeaseLifetime"/> after it asked for it, so any one second of use sees at most what the bucket gave out
/// in 1 + <see cref="LeaseLifetime"/> seconds: <see cref="Capacity"/> + (1 + lifetime) × <see cref="RefillPerSecond"/>. The
/// refill is chosen so that this is the limit (from 10/s up; below that, at most one permit more, as for the local bucket).
/// </summary>
/// <param name="Limit">Requests per second for all nodes together.</param>
/// <param name="Capacity">The most the bucket holds (a burst).</param>
/// <param name="RefillPerSecond">Permits added per second.</param>
/// <param name="Batch">The most one take leases to a node: about a twentieth of the limit, so a busy instance costs about 20 takes a second whatever its rate, and a node holds little that others could use.</param>
/// <param name="LeaseLifetime">How long a node may use what it leased; unused permits then expire, so a node cannot hoard them.</param>
public readonly record struct LeasedRateShape(double Limit, double Capacity, double RefillPerSecond, int Batch, TimeSpan LeaseLifetime)
{
    /// <summary>How long leased permits stay usable by default.</summary>
    public static readonly TimeSpan DefaultLeaseLifetime = TimeSpan.FromMilliseconds(100);

    /// <summary>The shape for <paramref name="limit"/> requests per second (above 0).</summary>
    public static LeasedRateShape For(double limit, TimeSpan? leaseLifetime = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var lifetime = leaseLifetime ?? DefaultLeaseLifetime;
        var stretch = 1 + lifetime.TotalSeconds;
        var capacity = Math.Max(1, Math.Floor(limit / 10));
        var batch = (int)Math.Clamp(Math.Floor(limit / 20), 1, capacity);
        var refill = limit >= 10 ? (limit - capacity) / stretch : limit / stretch;
        return new LeasedRateShape(limit, capacity, refill, batch, lifetime);
    }

    /// <summary>The most permits any one second of use can see: the limit, or one more below 10/s.</summary>
    public double MaxPerSecond => Capacity + (RefillPerSecond * (1 + LeaseLifetime.TotalSeconds));

    /// <summary>
    /// How long until a bucket holding <paramref name="tokensLeft"/> holds a whole batch (at least 1 ms, at most 1 s: another
    /// node may take it first). Waiting for a batch rather than one permit keeps a saturated bucket at one take per batch.
    /// </summary>
    public TimeSpan WaitFor(double tokensLeft)
    {
        var seconds = Math.Max(0, Batch - tokensLeft) / RefillPerSecond;
        return TimeSpan.FromSeconds(Math.Clamp(seconds, 0.001, 1));
    }
}

/// <summary>The permits a node leased and has not used yet; they expire at the end of their lease. Not thread-safe.</summary>
public sealed class LeasedPermits
{
    private int _count;
    private DateTimeOffset _expiresAt = DateTimeOffset.MinValue;

    /// <summary>Permits usable at <paramref name="now"/>.</summary>
    public int Available(DateTimeOffset now) => now < _expiresAt ? _count : 0;

    /// <summary>Keeps a new batch until <paramref name="expiresAt"/> (what was left of the previous one is dropped: it could not serve the request that asked).</summary>
    public void Add(int count, DateTimeOffset expiresAt)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _count = count;
        _expiresAt = expiresAt;
    }

    /// <summary>Takes <paramref name="count"/> permits when that many are usable at <paramref name="now"/>.</summary>
    public bool TryTake(int count, DateTimeOffset now)
    {
        if (Available(now) < count)
        {
            return false;
        }

        _count -= count;
        return true;
    }
}

/// <summary>
/// A <see cref="RateLimiter"/> whose permits come from a bucket shared by every node (<see cref="ITokenBuckets"/>): the node
/// leases a small batch at a time and uses it for at most <see cref="LeasedRateShape.LeaseLifetime"/>, so the limit holds
/// for all nodes together at the cost of one database round trip per batch, not per request. Waiters are served one at a
/// time, oldest first, as by the local token bucket. When the database cannot be reached the limiter falls back to a local
/// bucket at this node's share of the limit (the limit divided by the nodes that used the bucket lately, or the whole
/// limit when that is unknown), logs it once, and tries the database again every few seconds: upstream work never waits on
/// a lost database.
/// </summary>
/// <remarks>
/// Hand-written: System.Threading.RateLimiting has no distributed limiter, and no package offers one backed by
/// PostgreSQL (RedisRateLimiting needs Redis, which Reelay does not otherwise use).
/// </remarks>
public sealed class LeasedRateLimiter : RateLimiter
{
    /// <summary>Requests that may wait at once (as the local bucket's queue); more fail at once.</summary>
    public const int QueueLimit = 100_000;

    /// <summary>How long a take may take before the database counts as lost.</summary>
    public static readonly TimeSpan DatabaseTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How long the local share is used before the database is tried again.</summary>
    public static readonly TimeSpan RetryDatabaseAfter = TimeSpan.FromSeconds(5);

    /// <summary>How often a node says it uses the bucket (and learns how many nodes do).</summary>
    public static readonly TimeSpan PresenceInterval = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(1);
    private static readonly RateLimitLease Acquired = new Lease(true);
    private static readonly RateLimitLease Refused = new Lease(false);

    private readonly ITokenBuckets _buckets;
    private readonly string _bucket;
    private readonly string _nodeId;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly LeasedPermits _pocket = new();
    private readonly Lock _pocketLock = new();
    private RateLimiter? _fallback;
    private DateTimeOffset _retryDatabaseAt;
    private DateTimeOffset _presenceReportedAt = DateTimeOffset.MinValue;
    private DateTimeOffset _nextTakeAt = DateTimeOffset.MinValue;
    private int _liveNodes;
    private int _waiting;
    private long _successful;
    private long _failed;
    private long _idleSince;

    /// <summary>A limiter of <paramref name="requestsPerSecond"/> for all nodes together, on <paramref name="bucket"/>.</summary>
    public LeasedRateLimiter(ITokenBuckets buckets, string bucket, string nodeId, double requestsPerSecond, TimeProvider time, ILogger<LeasedRateLimiter> logger)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ArgumentNullException.ThrowIfNull(time);
        _buckets = buckets;
        _bucket = bucket;
        _nodeId = nodeId;
        _time = time;
        _log = logger;
        Shape = LeasedRateShape.For(requestsPerSecond);
        _idleSince = time.GetTimestamp();
    }

    /// <summary>The bucket's shape.</summary>
    public LeasedRateShape Shape { get; }

    /// <summary>Whether the limiter runs on its local share because the database was lost.</summary>
    public bool IsOnLocalShare => Volatile.Read(ref _fallback) is not null;

    /// <summary>The requests per second of the local share while <see cref="IsOnLocalShare"/>; null otherwise.</summary>
    public double? LocalShare { get; private set; }

    /// <summary>The nodes that used the bucket lately, as last heard (0: not known yet).</summary>
    public int LiveNodes => Volatile.Read(ref _liveNodes);

    /// <inheritdoc />
    public override TimeSpan? IdleDuration => Volatile.Read(ref _waiting) > 0 ? null : _time.GetElapsedTime(Interlocked.Read(ref _idleSince));

    /// <inheritdoc />
    public override RateLimiterStatistics? GetStatistics()
    {
        int available;
        lock (_pocketLock)
        {
            available = _pocket.Available(_time.GetUtcNow());
        }

        return new RateLimiterStatistics
        {
            CurrentAvailablePermits = available,
            CurrentQueuedCount = Volatile.Read(ref _waiting),
            TotalSuccessfulLeases = Interlocked.Read(ref _successful),
            TotalFailedLeases = Interlocked.Read(ref _failed),
        };
    }

    /// <summary>Without waiting, only permits this node holds already can be given (asking the database is a wait).</summary>
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        CheckCount(permitCount);
        if (permitCount == 0 || TryTakeLeased(permitCount))
        {
            return Count(Acquired);
        }

        return Volatile.Read(ref _fallback) is { } fallback ? Count(fallback.AttemptAcquire(permitCount)) : Count(Refused);
    }

    /// <inheritdoc />
    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        CheckCount(permitCount);
        if (permitCount == 0)
        {
            return Count(Acquired);
        }

        if (Interlocked.Increment(ref _waiting) > QueueLimit)
        {
            Interlocked.Decrement(ref _waiting);
            return Count(Refused);
        }

        try
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (TryTakeLeased(permitCount))
                    {
                        return Count(Acquired);
                    }

                    if (Volatile.Read(ref _fallback) is { } fallback && _time.GetUtcNow() < _retryDatabaseAt)
                    {
                        return Count(await fallback.AcquireAsync(permitCount, cancellationToken).ConfigureAwait(false));
                    }

                    // The bucket was (nearly) empty at the last take: wait until it holds a batch again rather than ask for nothing.
                    var early = _nextTakeAt - _time.GetUtcNow();
                    var wait = early > TimeSpan.Zero ? early : await LeaseAsync(cancellationToken).ConfigureAwait(false);
                    if (wait > TimeSpan.Zero)
                    {
                        // At least a millisecond: timers round shorter waits down to none, which would spin.
                        await Task.Delay(wait < MinimumWait ? MinimumWait : wait, _time, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                _gate.Release();
            }
        }
        finally
        {
            if (Interlocked.Decrement(ref _waiting) == 0)
            {
                Interlocked.Exchange(ref _idleSince, _time.GetTimestamp());
            }
        }
    }

    /// <summary>One take from the shared bucket; returns how long to wait before the next when it gave nothing.</summary>
    private async Task<TimeSpan> LeaseAsync(CancellationToken cancellationToken)
    {
        // The lease runs from before the question: a permit is never used later than its lifetime after the bucket gave it.
        var asked = _time.GetUtcNow();
        var report = asked - _presenceReportedAt >= PresenceInterval;
        BucketTake take;
        try
        {
            using var timeout = new CancellationTokenSource(DatabaseTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            take = await _buckets.TakeAsync(_bucket, Shape, _nodeId, report, linked.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Whatever the store throws (network, timeout, a dropped table), upstream work goes on at the local share.
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            UseLocalShare(asked, e);
            return TimeSpan.Zero;
        }

        if (Interlocked.Exchange(ref _fallback, null) is { } old)
        {
            old.Dispose();
            LocalShare = null;
            ClusterLog.RateBucketBack(_log, _bucket);
        }

        if (report)
        {
            _presenceReportedAt = asked;
            if (take.LiveNodes > 0)
            {
                Volatile.Write(ref _liveNodes, take.LiveNodes);
            }
        }

        _nextTakeAt = take.TokensLeft < Shape.Batch ? asked + Shape.WaitFor(take.TokensLeft) : DateTimeOffset.MinValue;
        if (take.Taken > 0)
        {
            lock (_pocketLock)
            {
                _pocket.Add(take.Taken, asked + Shape.LeaseLifetime);
            }

            return TimeSpan.Zero;
        }

        return Shape.WaitFor(take.TokensLeft);
    }

    private void UseLocalShare(DateTimeOffset now, Exception error)
    {
        _retryDatabaseAt = now + RetryDatabaseAfter;
        if (Volatile.Read(ref _fallback) is not null)
        {
            return; // Logged when it was lost; still lost.
        }

        var nodes = Math.Max(1, Volatile.Read(ref _liveNodes));
        var share = Shape.Limit / nodes;
        LocalShare = share;
        Volatile.Write(ref _fallback, UpstreamHttpClient.CreateLocalLimiter(share));
        ClusterLog.RateBucketLost(_log, error.GetType().Name, _bucket, share, nodes);
    }

    private bool TryTakeLeased(int permitCount)
    {
        lock (_pocketLock)
        {
            return _pocket.TryTake(permitCount, _time.GetUtcNow());
        }
    }

    private void CheckCount(int permitCount)
    {
        // As the local bucket: a request for more than one take can ever give is a caller's mistake.
        ArgumentOutOfRangeException.ThrowIfNegative(permitCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(permitCount, Shape.Batch);
    }

    private RateLimitLease Count(RateLimitLease lease)
    {
        if (lease.IsAcquired)
        {
            Interlocked.Increment(ref _successful);
        }
        else
        {
            Interlocked.Increment(ref _failed);
        }

        return lease;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Interlocked.Exchange(ref _fallback, null)?.Dispose();
            _gate.Dispose();
        }

        base.Dispose(disposing);
    }

    private sealed class Lease(bool acquired) : RateLimitLease
    {
        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
