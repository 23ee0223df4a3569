using Reelay.Jobs;
using Reelay.Storage;

namespace Reelay.Bench.Support;

/// <summary>
/// A job store in memory, with the same compare-and-set on <see cref="Job.Version"/> as the real ones and O(1)
/// operations, so that 100,000 jobs can be made running quickly. Only the memory benchmark uses it, and it measures
/// this store's share separately.
/// </summary>
internal sealed class InMemoryJobStore : IJobStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Job> _rows = new(StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _rows.Count;
            }
        }
    }

    public int CountIn(JobStatus status)
    {
        lock (_gate)
        {
            return _rows.Values.Count(j => j.Status == status);
        }
    }

    public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<Job> InsertAsync(Job job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var stored = job with { Version = 1 };
        lock (_gate)
        {
            if (!_rows.TryAdd(job.Id, stored))
            {
                throw new DuplicateJobException(job.Id);
            }
        }

        return Task.FromResult(stored);
    }

    public Task<Job?> GetAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_rows.GetValueOrDefault(id));
        }
    }

    public Task<Job?> TryUpdateAsync(Job job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_gate)
        {
            if (!_rows.TryGetValue(job.Id, out var current) || current.Version != job.Version)
            {
                return Task.FromResult<Job?>(null);
            }

            var stored = job with { Version = job.Version + 1 };
            _rows[job.Id] = stored;
            return Task.FromResult<Job?>(stored);
        }
    }

    public Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The benchmarks do not list jobs.");

    public Task<IReadOnlyList<Job>> ListActiveAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<Job>>(_rows.Values.Where(j => !j.Status.IsTerminal() && j.DeletedAt is null).ToList());
        }
    }

    public Task<IReadOnlyList<Job>> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<Job>>(_rows.Values
                .Where(j => j.ExpiresAt is { } e && e <= now && j.ContentDeletedAt is null && j.DeletedAt is null)
                .OrderBy(j => j.ExpiresAt)
                .Take(limit)
                .ToList());
        }
    }
}
