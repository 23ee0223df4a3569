namespace Reelay.Cluster;

/// <summary>
/// A provider instance's concurrency limit (<c>MaxConcurrentJobs</c>) counted across every node: a job takes one of the
/// instance's slots before its submit and gives it back when it ends (or goes back to the queue). With one process the
/// engine's own lanes count (<see cref="LocalProviderSlots"/>); with several nodes on PostgreSQL the slots are rows in the
/// database, taken under a per-provider lock so that no two nodes can both take the last one.
/// <para>A slot belongs to a job, not to a node: a node that takes over a dead node's job keeps its slot, so the
/// count never dips while a job changes hands.</para>
/// </summary>
public interface IProviderSlots
{
    /// <summary>Whether slots are counted outside this process (false: the lanes' own count is the limit).</summary>
    bool IsShared { get; }

    /// <summary>
    /// Takes a slot of <paramref name="provider"/> for <paramref name="jobId"/> when fewer than <paramref name="limit"/> are
    /// taken (or the job holds one of it already); false when all are taken. A job holds at most one slot: one it held at
    /// another provider (before a failover) moves.
    /// </summary>
    Task<bool> TryAcquireAsync(string provider, string jobId, int limit, CancellationToken cancellationToken);

    /// <summary>Records that <paramref name="jobId"/> holds a slot of <paramref name="provider"/> whatever the count (a job taken over in submitting or running is already at the upstream).</summary>
    Task HoldAsync(string provider, string jobId, CancellationToken cancellationToken);

    /// <summary>Gives the job's slot of <paramref name="provider"/> back (nothing when it holds none there: a job that failed over holds one of its new provider's).</summary>
    Task ReleaseAsync(string provider, string jobId, CancellationToken cancellationToken);

    /// <summary>The slots taken now, for the sweep of slots whose job ended without giving them back (its node died at the wrong moment).</summary>
    Task<IReadOnlyList<ProviderSlot>> ListAsync(CancellationToken cancellationToken);
}

/// <summary>One taken slot.</summary>
/// <param name="Provider">The provider instance.</param>
/// <param name="JobId">The job holding it.</param>
/// <param name="AcquiredAt">When it was taken (or last held again).</param>
public sealed record ProviderSlot(string Provider, string JobId, DateTimeOffset AcquiredAt);

/// <summary>One process: the lanes count the slots, nothing is stored.</summary>
public sealed class LocalProviderSlots : IProviderSlots
{
    /// <summary>The one instance.</summary>
    public static LocalProviderSlots Instance { get; } = new();

    /// <inheritdoc />
    public bool IsShared => false;

    /// <inheritdoc />
    public Task<bool> TryAcquireAsync(string provider, string jobId, int limit, CancellationToken cancellationToken) => Task.FromResult(true);

    /// <inheritdoc />
    public Task HoldAsync(string provider, string jobId, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task ReleaseAsync(string provider, string jobId, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task<IReadOnlyList<ProviderSlot>> ListAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<ProviderSlot>>([]);
}
