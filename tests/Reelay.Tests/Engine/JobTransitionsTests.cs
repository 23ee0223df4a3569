using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Results;
using Reelay.Storage;
using Reelay.Tests.Storage;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Engine;

public sealed class JobTransitionsTests
{
    private readonly FakeTimeProvider _clock = new(TestJobs.Epoch);
    private readonly InMemoryJobStore _store = new();
    private readonly RecordingObserver _observer = new();

    private JobTransitions Transitions(IJobStore? store = null) => new(store ?? _store, _clock, new JobObservers([new ThrowingObserver(), _observer]));

    [Fact]
    public async Task TryAsync_PreconditionHolds_StoresChangeStampsUpdatedAtAndNotifiesObservers()
    {
        var job = await _store.InsertAsync(TestJobs.New(), CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(5));

        var result = await Transitions().TryAsync(job.Id, j => j.Status == JobStatus.Queued, j => j with { Status = JobStatus.Submitting }, CancellationToken.None);

        Assert.True(result.Applied);
        Assert.Equal(JobStatus.Submitting, result.Updated!.Status);
        Assert.Equal(job.Version + 1, result.Updated.Version);
        Assert.Equal(_clock.GetUtcNow(), result.Updated.UpdatedAt);
        var (previous, current) = Assert.Single(_observer.Changes);
        Assert.Equal(JobStatus.Queued, previous!.Status);
        Assert.Equal(result.Updated, current);
    }

    [Fact]
    public async Task TryAsync_PreconditionFails_ReturnsCurrentWithoutWritingOrNotifying()
    {
        var job = await _store.InsertAsync(TestJobs.New(), CancellationToken.None);

        var result = await Transitions().TryAsync(job.Id, j => j.Status == JobStatus.Running, j => j with { Progress = 10 }, CancellationToken.None);

        Assert.False(result.Applied);
        Assert.Equal(job.Version, result.Current!.Version);
        Assert.Empty(_observer.Changes);
    }

    [Fact]
    public async Task TryAsync_UnknownJob_ReturnsNothing()
    {
        var result = await Transitions().TryAsync("job_missing", _ => true, j => j, CancellationToken.None);

        Assert.Null(result.Current);
        Assert.False(result.Applied);
    }

    [Fact]
    public async Task TryAsync_AnotherWriterWinsOnce_ReappliesOnTheNewerVersion()
    {
        var job = await _store.InsertAsync(TestJobs.New(), CancellationToken.None);
        var racing = new RacingStore(_store, losses: 1, j => j with { Progress = 40 });

        var result = await Transitions(racing).TryAsync(job.Id, _ => true, j => j with { Note = "mine" }, CancellationToken.None);

        Assert.Equal("mine", result.Updated!.Note);
        Assert.Equal(40, result.Updated.Progress); // The other writer's change survived: the change was re-applied on it.
        Assert.Single(_observer.Changes);
    }

    [Fact]
    public async Task TryAsync_AlwaysLosing_ThrowsContentionAfterMaxAttempts()
    {
        var job = await _store.InsertAsync(TestJobs.New(), CancellationToken.None);
        var racing = new RacingStore(_store, losses: int.MaxValue, j => j with { Progress = j.Progress + 1 });

        await Assert.ThrowsAsync<JobContentionException>(() => Transitions(racing).TryAsync(job.Id, _ => true, j => j with { Note = "mine" }, CancellationToken.None));
        Assert.Equal(JobTransitions.MaxAttempts, racing.Attempts);
        Assert.Empty(_observer.Changes);
    }

    [Fact]
    public void Inserted_AnyJob_NotifiesObserversWithNoPrevious()
    {
        var job = TestJobs.New();

        Transitions().Inserted(job);

        var (previous, current) = Assert.Single(_observer.Changes);
        Assert.Null(previous);
        Assert.Same(job, current);
    }

    [Fact]
    public async Task ResultSweeper_ExpiredContent_RecordsTheDeletionThroughTransitionsSoObserversHearIt()
    {
        var job = await _store.InsertAsync(TestJobs.New(status: JobStatus.Succeeded) with { ExpiresAt = TestJobs.Epoch.AddMinutes(1), ResultKey = "videos/x.mp4" }, CancellationToken.None);
        var results = new InMemoryResultStore();
        results.Objects["videos/x.mp4"] = [1, 2, 3];
        _clock.Advance(TimeSpan.FromMinutes(2));
        using var sweeper = new ResultSweeper(_store, results, new ReelayOptions(), _clock, NullLogger<ResultSweeper>.Instance, Transitions());

        Assert.Equal(1, await sweeper.SweepOnceAsync(CancellationToken.None));

        var (previous, current) = Assert.Single(_observer.Changes);
        Assert.Null(previous!.ContentDeletedAt);
        Assert.Equal(_clock.GetUtcNow(), current.ContentDeletedAt);
        Assert.Equal(job.Id, current.Id);
        Assert.Empty(results.Objects);
    }

    /// <summary>A store where another writer changes the job right before each of the first <c>losses</c> updates.</summary>
    private sealed class RacingStore(InMemoryJobStore inner, int losses, Func<Job, Job> other) : IJobStore
    {
        public int Attempts { get; private set; }

        public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

        public Task<Job> InsertAsync(Job job, CancellationToken cancellationToken) => inner.InsertAsync(job, cancellationToken);

        public Task<Job?> GetAsync(string id, CancellationToken cancellationToken) => inner.GetAsync(id, cancellationToken);

        public async Task<Job?> TryUpdateAsync(Job job, CancellationToken cancellationToken)
        {
            if (Attempts++ < losses)
            {
                var current = await inner.GetAsync(job.Id, cancellationToken);
                Assert.NotNull(await inner.TryUpdateAsync(other(current!), cancellationToken));
            }

            return await inner.TryUpdateAsync(job, cancellationToken);
        }

        public Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken) => inner.ListAsync(query, cancellationToken);

        public Task<IReadOnlyList<Job>> ListActiveAsync(CancellationToken cancellationToken) => inner.ListActiveAsync(cancellationToken);

        public Task<IReadOnlyList<Job>> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) => inner.ListExpiredAsync(now, limit, cancellationToken);
    }
}
