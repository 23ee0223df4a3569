using System.Collections.Concurrent;
using Reelay.Jobs;

namespace Reelay.Storage;

/// <summary>
/// A write-through snapshot of recently used jobs in front of a store, so a status read is a dictionary lookup.
/// Correct while this process is the only writer (the embedded default): every write passes through here, and an entry
/// is only ever replaced by a higher <see cref="Job.Version"/>. A lost compare-and-set evicts the entry, so a writer
/// elsewhere is noticed at the next write. Lists always go to the store. With several nodes on one database, each
/// node's cache is told about the other nodes' writes through <see cref="IJobCache.Forget"/> (the cluster signals).
/// </summary>
public sealed class CachingJobStore : IJobStore, IJobClaims, IJobCache, IAsyncDisposable
{
    private readonly IJobStore _inner;
    private readonly int _capacity;
    private readonly ConcurrentDictionary<string, Job> _jobs = new(StringComparer.Ordinal);

    // Versions other nodes stored, for jobs whose older copy may be on its way into the cache (a read from the database
    // racing the signal): such a copy is not kept. Cleared when it grows past the capacity; a miss only costs a read.
    private readonly ConcurrentDictionary<string, long> _newer = new(StringComparer.Ordinal);
    private int _additions;

    /// <summary>Wraps <paramref name="inner"/>, keeping at most about <paramref name="capacity"/> jobs.</summary>
    public CachingJobStore(IJobStore inner, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _inner = inner;
        _capacity = capacity;
    }

    /// <summary>Jobs held now.</summary>
    public int Count => _jobs.Count;

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken) => _inner.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<Job> InsertAsync(Job job, CancellationToken cancellationToken)
    {
        var stored = await _inner.InsertAsync(job, cancellationToken).ConfigureAwait(false);
        Remember(stored);
        return stored;
    }

    /// <inheritdoc />
    public async Task<Job> InsertAsync(Job job, Accounts.JobAdmission admission, CancellationToken cancellationToken)
    {
        var stored = await _inner.InsertAsync(job, admission, cancellationToken).ConfigureAwait(false);
        Remember(stored);
        return stored;
    }

    /// <inheritdoc />
    public async Task<Job?> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (_jobs.TryGetValue(id, out var cached))
        {
            return cached;
        }

        var stored = await _inner.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (stored is not null)
        {
            Remember(stored);
        }

        return stored;
    }

    /// <inheritdoc />
    public async Task<Job?> TryUpdateAsync(Job job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var stored = await _inner.TryUpdateAsync(job, cancellationToken).ConfigureAwait(false);
        if (stored is not null)
        {
            Remember(stored);
        }
        else if (_jobs.TryGetValue(job.Id, out var cached) && cached.Version <= job.Version)
        {
            // Someone else wrote it (or it is gone): forget what we had, the next read goes to the store.
            _jobs.TryRemove(new KeyValuePair<string, Job>(job.Id, cached));
        }

        return stored;
    }

    /// <summary>
    /// Forgets one job, so that the next read of it goes to the store. The seam for several nodes on one database: a node
    /// that hears another one changed a job (a notification) evicts it here; nothing else is needed, as writes through
    /// this cache already replace or evict their entry.
    /// </summary>
    public void Evict(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        _jobs.TryRemove(id, out _);
    }

    /// <inheritdoc />
    public Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken) => _inner.ListAsync(query, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<Job>> ListActiveAsync(CancellationToken cancellationToken) => _inner.ListActiveAsync(cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<Job>> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) => _inner.ListExpiredAsync(now, limit, cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _jobs.Clear();
        if (_inner is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Forget(string jobId, long version)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        if (_newer.Count >= _capacity)
        {
            _newer.Clear();
        }

        _newer.AddOrUpdate(jobId, version, (_, known) => Math.Max(known, version));
        while (_jobs.TryGetValue(jobId, out var cached) && cached.Version < version)
        {
            _jobs.TryRemove(new KeyValuePair<string, Job>(jobId, cached));
        }
    }

    /// <inheritdoc />
    public void ForgetAll() => _jobs.Clear();

    internal void Remember(Job job)
    {
        if (_newer.TryGetValue(job.Id, out var newer))
        {
            if (job.Version < newer)
            {
                return; // Another node stored a later version: this copy is stale already.
            }

            _newer.TryRemove(new KeyValuePair<string, long>(job.Id, newer));
        }

        // Writers finish out of order; only a newer version may replace an entry.
        _jobs.AddOrUpdate(job.Id, static (_, candidate) => candidate, static (_, existing, candidate) => candidate.Version > existing.Version ? candidate : existing, job);
        if (Interlocked.Increment(ref _additions) % 256 == 0 && _jobs.Count > _capacity)
        {
            Trim();
        }
    }

    private void Trim()
    {
        // Finished jobs first: they are read least and never written by the engine again.
        var target = _capacity * 9 / 10;
        foreach (var pass in new[] { true, false })
        {
            foreach (var (id, job) in _jobs)
            {
                if (_jobs.Count <= target)
                {
                    return;
                }

                if (!pass || job.Status.IsTerminal())
                {
                    _jobs.TryRemove(new KeyValuePair<string, Job>(id, job));
                }
            }
        }
    }

    private IJobClaims Claims => _inner as IJobClaims ?? throw new NotSupportedException($"{_inner.GetType().Name} does not keep job claims.");

    /// <inheritdoc />
    public async Task<IReadOnlyList<Job>> ClaimDueAsync(string owner, DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken)
    {
        var claimed = await Claims.ClaimDueAsync(owner, now, lease, limit, cancellationToken).ConfigureAwait(false);
        foreach (var job in claimed)
        {
            Remember(job);
        }

        return claimed;
    }

    /// <inheritdoc />
    public Task<bool> TryClaimAsync(string jobId, string owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken) =>
        Claims.TryClaimAsync(jobId, owner, now, lease, cancellationToken);

    /// <inheritdoc />
    public Task<int> RenewClaimsAsync(string owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken) =>
        Claims.RenewClaimsAsync(owner, now, lease, cancellationToken);

    /// <inheritdoc />
    public Task ReleaseClaimAsync(string jobId, string owner, DateTimeOffset dueAt, CancellationToken cancellationToken) =>
        Claims.ReleaseClaimAsync(jobId, owner, dueAt, cancellationToken);

    /// <inheritdoc />
    public Task ReleaseClaimsAsync(string owner, CancellationToken cancellationToken) => Claims.ReleaseClaimsAsync(owner, cancellationToken);
}
