using Reelay.Jobs;

namespace Reelay.Storage;

/// <summary>
/// <see cref="IJobClaims"/> kept in this process's memory, over any <see cref="IJobStore"/> (its unfinished jobs come from
/// <see cref="IJobStore.ListActiveAsync"/>). For a store that keeps no claims of its own (test doubles, wrappers): it is
/// correct for one process only, and forgets every claim when the process ends, which one process can afford since it
/// takes its own jobs back at start anyway. The SQLite store keeps claims durably and does not need it.
/// </summary>
public sealed class InProcessJobClaims(IJobStore store) : IJobClaims
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Claim> _claims = new(StringComparer.Ordinal);

    private readonly record struct Claim(string? Holder, DateTimeOffset LeaseUntil, DateTimeOffset DueAt)
    {
        public bool FreeAt(DateTimeOffset now) => Holder is null || LeaseUntil <= now;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Job>> ClaimDueAsync(string owner, DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken)
    {
        var active = await store.ListActiveAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            var alive = active.Select(j => j.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var gone in _claims.Keys.Where(id => !alive.Contains(id)).ToList())
            {
                _claims.Remove(gone); // Terminal (or deleted) jobs hold no claim.
            }

            var due = active
                .Select((job, order) => (Job: job, Order: order, Known: _claims.TryGetValue(job.Id, out var claim), Claim: claim))
                .Where(c => !c.Known || (c.Claim.FreeAt(now) && c.Claim.DueAt <= now))
                .OrderBy(c => c.Known ? c.Claim.DueAt : DateTimeOffset.MinValue)
                .ThenBy(c => c.Order)
                .Take(Math.Clamp(limit, 1, 10_000))
                .Select(c => c.Job)
                .ToList();
            foreach (var job in due)
            {
                _claims[job.Id] = new Claim(owner, now + lease, _claims.TryGetValue(job.Id, out var old) ? old.DueAt : now);
            }

            return due;
        }
    }

    /// <inheritdoc />
    public Task<bool> TryClaimAsync(string jobId, string owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_claims.TryGetValue(jobId, out var claim) && !claim.FreeAt(now) && claim.Holder != owner)
            {
                return Task.FromResult(false);
            }

            _claims[jobId] = new Claim(owner, now + lease, claim.Holder is null && claim.DueAt == default ? now : claim.DueAt);
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public Task<int> RenewClaimsAsync(string owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var mine = _claims.Where(c => c.Value.Holder == owner && c.Value.LeaseUntil > now).Select(c => c.Key).ToList();
            foreach (var id in mine)
            {
                _claims[id] = _claims[id] with { LeaseUntil = now + lease };
            }

            return Task.FromResult(mine.Count);
        }
    }

    /// <inheritdoc />
    public Task ReleaseClaimAsync(string jobId, string owner, DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_claims.TryGetValue(jobId, out var claim) || claim.Holder is null || claim.Holder == owner)
            {
                _claims[jobId] = new Claim(null, default, dueAt);
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task ReleaseClaimsAsync(string owner, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var id in _claims.Where(c => c.Value.Holder == owner).Select(c => c.Key).ToList())
            {
                _claims[id] = _claims[id] with { Holder = null };
            }
        }

        return Task.CompletedTask;
    }
}
