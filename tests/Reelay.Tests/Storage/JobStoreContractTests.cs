using Reelay.Jobs;
using Reelay.Storage;

namespace Reelay.Tests.Storage;

/// <summary>
/// The behaviour every <see cref="IJobStore"/> must have. An implementation's test class derives from this one and
/// supplies the store; the tests run unchanged against each. xunit makes one instance per test, so each test gets
/// its own database.
/// </summary>
public abstract class JobStoreContractTests
{
    /// <summary>No test here waits on anything that may hang, so none needs a real token.</summary>
    protected static CancellationToken Ct => CancellationToken.None;

    /// <summary>Creates and initializes a store over a new, empty database that belongs to this test.</summary>
    protected abstract Task<IJobStore> CreateStoreAsync();

    /// <summary>
    /// Opens and initializes another store over the database of <see cref="CreateStoreAsync"/>, as a restarted
    /// process would. Callers dispose the earlier store first when it is <see cref="IAsyncDisposable"/>.
    /// </summary>
    protected abstract Task<IJobStore> ReopenStoreAsync();

    [Fact]
    public async Task InsertAsync_EveryFieldSet_GetReturnsEveryValue()
    {
        var store = await CreateStoreAsync();
        var job = TestJobs.Full();

        var inserted = await store.InsertAsync(job, Ct);
        var stored = await store.GetAsync(job.Id, Ct);

        Assert.NotNull(stored);
        AssertSameJob(job with { Version = 1 }, stored);
        AssertSameJob(inserted, stored);
        Assert.Equal(TimeSpan.Zero, stored.CreatedAt.Offset);
        Assert.Equal(job.CreatedAt.ToUnixTimeMilliseconds(), stored.CreatedAt.ToUnixTimeMilliseconds());
        Assert.Equal(new JobError(ErrorCodes.ModerationBlocked, "The output was blocked by moderation.", "prompt", "output"), stored.Error);
    }

    [Fact]
    public async Task InsertAsync_OptionalFieldsUnset_GetReturnsNullsAndEmptyMaps()
    {
        var store = await CreateStoreAsync();
        var job = TestJobs.New();

        await store.InsertAsync(job, Ct);
        var stored = await store.GetAsync(job.Id, Ct);

        Assert.NotNull(stored);
        AssertSameJob(job with { Version = 1 }, stored);
        Assert.Null(stored.Prompt);
        Assert.Null(stored.Seed);
        Assert.Null(stored.Error);
        Assert.Null(stored.StartedAt);
        Assert.Null(stored.ResultDurationSeconds);
        Assert.Null(stored.DeletedAt);
        Assert.Empty(stored.Options);
        Assert.Empty(stored.Metadata);
    }

    [Fact]
    public async Task InsertAsync_SubMillisecondDates_StoredToTheMillisecond()
    {
        var store = await CreateStoreAsync();
        var job = TestJobs.New(createdAt: TestJobs.Epoch.AddTicks(5_678)) with { StartedAt = TestJobs.Epoch.AddTicks(9_999) };

        var inserted = await store.InsertAsync(job, Ct);
        var stored = await store.GetAsync(job.Id, Ct);

        Assert.NotNull(stored);
        Assert.Equal(TestJobs.Epoch, stored.CreatedAt);
        Assert.Equal(TestJobs.Epoch, stored.StartedAt);
        AssertSameJob(stored, inserted);
    }

    [Fact]
    public async Task InsertAsync_NewJob_ReturnsVersionOne()
    {
        var store = await CreateStoreAsync();

        var inserted = await store.InsertAsync(TestJobs.New(), Ct);

        Assert.Equal(1, inserted.Version);
        Assert.Equal(1, (await store.GetAsync(inserted.Id, Ct))?.Version);
    }

    [Fact]
    public async Task InsertAsync_NonZeroVersion_ThrowsArgumentExceptionAndStoresNothing()
    {
        var store = await CreateStoreAsync();
        var job = TestJobs.New() with { Version = 3 };

        await Assert.ThrowsAsync<ArgumentException>(() => store.InsertAsync(job, Ct));

        Assert.Null(await store.GetAsync(job.Id, Ct));
    }

    [Fact]
    public async Task InsertAsync_DuplicateId_ThrowsDuplicateJobExceptionAndKeepsOriginal()
    {
        var store = await CreateStoreAsync();
        var original = await store.InsertAsync(TestJobs.New() with { Prompt = "first" }, Ct);

        var error = await Assert.ThrowsAsync<DuplicateJobException>(
            () => store.InsertAsync(TestJobs.New(original.Id, owner: "key_other") with { Prompt = "second" }, Ct));

        Assert.Equal(original.Id, error.Id);
        AssertSameJob(original, (await store.GetAsync(original.Id, Ct))!);
    }

    [Fact]
    public async Task GetAsync_UnknownId_ReturnsNull()
    {
        var store = await CreateStoreAsync();
        await store.InsertAsync(TestJobs.New(), Ct);

        Assert.Null(await store.GetAsync(Job.NewId(), Ct));
    }

    [Fact]
    public async Task TryUpdateAsync_CurrentVersion_WritesEveryFieldAndIncrementsVersion()
    {
        var store = await CreateStoreAsync();
        var inserted = await store.InsertAsync(TestJobs.New(), Ct);
        var changed = TestJobs.Full(inserted.Id, owner: "key_changed") with { Version = inserted.Version };

        var updated = await store.TryUpdateAsync(changed, Ct);

        Assert.NotNull(updated);
        Assert.Equal(2, updated.Version);
        AssertSameJob(changed with { Version = 2 }, updated);
        AssertSameJob(updated, (await store.GetAsync(inserted.Id, Ct))!);
    }

    [Fact]
    public async Task TryUpdateAsync_OptionalFieldsCleared_StoresNullsAndEmptyMaps()
    {
        var store = await CreateStoreAsync();
        var inserted = await store.InsertAsync(TestJobs.Full(), Ct);
        var cleared = TestJobs.New(inserted.Id, inserted.Owner) with { Version = inserted.Version };

        var updated = await store.TryUpdateAsync(cleared, Ct);

        Assert.NotNull(updated);
        var stored = await store.GetAsync(inserted.Id, Ct);
        Assert.NotNull(stored);
        AssertSameJob(cleared with { Version = 2 }, stored);
        Assert.Null(stored.Error);
        Assert.Empty(stored.Options);
        Assert.Empty(stored.Metadata);
    }

    [Fact]
    public async Task TryUpdateAsync_StaleVersion_ReturnsNullAndLeavesRowUnchanged()
    {
        var store = await CreateStoreAsync();
        var inserted = await store.InsertAsync(TestJobs.New(), Ct);
        var current = await store.TryUpdateAsync(inserted with { Progress = 10 }, Ct);

        var stale = await store.TryUpdateAsync(inserted with { Progress = 99, Status = JobStatus.Cancelled }, Ct);

        Assert.Null(stale);
        AssertSameJob(current!, (await store.GetAsync(inserted.Id, Ct))!);
    }

    [Fact]
    public async Task TryUpdateAsync_UnknownId_ReturnsNullAndInsertsNothing()
    {
        var store = await CreateStoreAsync();
        var job = TestJobs.New() with { Version = 1 };

        Assert.Null(await store.TryUpdateAsync(job, Ct));
        Assert.Null(await store.GetAsync(job.Id, Ct));
    }

    [Fact]
    public async Task TryUpdateAsync_SequentialUpdates_IncrementVersionEachTime()
    {
        var store = await CreateStoreAsync();
        var current = await store.InsertAsync(TestJobs.New(), Ct);

        for (var i = 1; i <= 5; i++)
        {
            current = await store.TryUpdateAsync(current with { Progress = i * 10 }, Ct);
            Assert.NotNull(current);
            Assert.Equal(i + 1, current.Version);
        }

        var stored = await store.GetAsync(current.Id, Ct);
        Assert.Equal(6, stored?.Version);
        Assert.Equal(50, stored?.Progress);
    }

    [Fact]
    public async Task TryUpdateAsync_32ConcurrentWritersWithSameVersion_ExactlyOneWins()
    {
        var store = await CreateStoreAsync();
        var inserted = await store.InsertAsync(TestJobs.New(), Ct);
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var writers = Enumerable.Range(1, 32).Select(i => Task.Run(async () =>
        {
            await start.Task;
            return await store.TryUpdateAsync(inserted with { Progress = i, Note = $"writer {i}" }, Ct);
        })).ToList();
        start.SetResult();
        var results = await Task.WhenAll(writers);

        var winner = Assert.Single(results, r => r is not null);
        Assert.Equal(2, winner!.Version);
        AssertSameJob(winner, (await store.GetAsync(inserted.Id, Ct))!);
    }

    [Fact]
    public async Task TryUpdateAsync_200ConcurrentWritersOnDifferentJobs_AllSucceed()
    {
        var store = await CreateStoreAsync();
        var jobs = new List<Job>();
        for (var i = 0; i < 200; i++)
        {
            jobs.Add(await store.InsertAsync(TestJobs.New(), Ct));
        }

        var results = await Task.WhenAll(jobs.Select(job => Task.Run(
            () => store.TryUpdateAsync(job with { Status = JobStatus.Running, Progress = 5 }, Ct))));

        Assert.All(results, r => Assert.Equal(2, r?.Version));
        Assert.All(await store.ListActiveAsync(Ct), job => Assert.Equal(JobStatus.Running, job.Status));
    }

    [Fact]
    public async Task InsertAsync_200ConcurrentInserts_AllSucceedAndAreListed()
    {
        var store = await CreateStoreAsync();
        var jobs = Enumerable.Range(0, 200).Select(_ => TestJobs.New(owner: "key_load")).ToList();

        var inserted = await Task.WhenAll(jobs.Select(job => Task.Run(() => store.InsertAsync(job, Ct))));

        Assert.All(inserted, job => Assert.Equal(1, job.Version));
        var listed = await ListAllAsync(store, new JobQuery { Owner = "key_load", Limit = 100, Ascending = true });
        Assert.Equal(jobs.Select(j => j.Id).Order(), listed.Select(j => j.Id).Order());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ListAsync_AfterCursor_WalksAllPagesWithoutGapsOrDuplicates(bool ascending)
    {
        var store = await CreateStoreAsync();
        var ids = await InsertManyAsync(store, 10, "key_pages");
        var expected = ascending ? ids : ids.AsEnumerable().Reverse().ToList();

        var pages = new List<JobPage>();
        string? after = null;
        do
        {
            var page = await store.ListAsync(new JobQuery { Owner = "key_pages", Limit = 3, Ascending = ascending, After = after }, Ct);
            pages.Add(page);
            after = page.Items.Count == 0 ? null : page.Items[^1].Id;
        }
        while (pages[^1].HasMore && pages.Count < 10);

        Assert.Equal([3, 3, 3, 1], pages.Select(p => p.Items.Count));
        Assert.Equal([true, true, true, false], pages.Select(p => p.HasMore));
        Assert.Equal(expected, pages.SelectMany(p => p.Items).Select(j => j.Id));
    }

    [Fact]
    public async Task ListAsync_LastPageExactlyFull_HasMoreFalse()
    {
        var store = await CreateStoreAsync();
        var ids = await InsertManyAsync(store, 6, "key_exact");

        var first = await store.ListAsync(new JobQuery { Limit = 3, Ascending = true }, Ct);
        var second = await store.ListAsync(new JobQuery { Limit = 3, Ascending = true, After = first.Items[^1].Id }, Ct);
        var all = await store.ListAsync(new JobQuery { Limit = 6, Ascending = true }, Ct);

        Assert.True(first.HasMore);
        Assert.False(second.HasMore);
        Assert.Equal(ids[3..], second.Items.Select(j => j.Id));
        Assert.False(all.HasMore);
        Assert.Equal(ids, all.Items.Select(j => j.Id));
    }

    [Fact]
    public async Task ListAsync_Descending_ReturnsNewestFirst()
    {
        var store = await CreateStoreAsync();
        var ids = await InsertManyAsync(store, 4, "key_desc");

        var page = await store.ListAsync(new JobQuery { Limit = 2 }, Ct);

        Assert.Equal([ids[3], ids[2]], page.Items.Select(j => j.Id));
        Assert.True(page.HasMore);
    }

    [Fact]
    public async Task ListAsync_CreatedAtOutOfOrder_OrdersByInsertion()
    {
        var store = await CreateStoreAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await store.InsertAsync(TestJobs.New(createdAt: TestJobs.Epoch.AddMinutes(-i)), Ct)).Id);
        }

        var page = await store.ListAsync(new JobQuery { Ascending = true }, Ct);

        Assert.Equal(ids, page.Items.Select(j => j.Id));
    }

    [Fact]
    public async Task ListAsync_AfterUpdates_KeepsInsertionOrder()
    {
        var store = await CreateStoreAsync();
        var ids = await InsertManyAsync(store, 3, "key_order");
        var oldest = await store.GetAsync(ids[0], Ct);
        await store.TryUpdateAsync(oldest! with { Status = JobStatus.Running, UpdatedAt = TestJobs.Epoch.AddHours(1) }, Ct);

        var page = await store.ListAsync(new JobQuery { Ascending = true }, Ct);

        Assert.Equal(ids, page.Items.Select(j => j.Id));
    }

    [Fact]
    public async Task ListAsync_NoJobs_ReturnsEmptyPage()
    {
        var store = await CreateStoreAsync();

        var page = await store.ListAsync(new JobQuery(), Ct);

        Assert.Empty(page.Items);
        Assert.False(page.HasMore);
    }

    [Fact]
    public async Task ListAsync_OwnerFilter_ReturnsOnlyThatOwnersJobs()
    {
        var store = await CreateStoreAsync();
        var alice = new List<string>();
        var all = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var job = await store.InsertAsync(TestJobs.New(owner: i % 2 == 0 ? "key_alice" : "key_bob"), Ct);
            all.Add(job.Id);
            if (job.Owner == "key_alice")
            {
                alice.Add(job.Id);
            }
        }

        var alicePage = await store.ListAsync(new JobQuery { Owner = "key_alice", Ascending = true }, Ct);
        var everyone = await store.ListAsync(new JobQuery { Ascending = true }, Ct);
        var nobody = await store.ListAsync(new JobQuery { Owner = "key_carol", Ascending = true }, Ct);

        Assert.Equal(alice, alicePage.Items.Select(j => j.Id));
        Assert.All(alicePage.Items, j => Assert.Equal("key_alice", j.Owner));
        Assert.Equal(all, everyone.Items.Select(j => j.Id));
        Assert.Empty(nobody.Items);
    }

    [Fact]
    public async Task ListAsync_UnknownAfterId_ReturnsEmptyPage()
    {
        var store = await CreateStoreAsync();
        await InsertManyAsync(store, 3, "key_unknown");

        var ascending = await store.ListAsync(new JobQuery { After = Job.NewId(), Ascending = true }, Ct);
        var descending = await store.ListAsync(new JobQuery { After = Job.NewId() }, Ct);

        Assert.Empty(ascending.Items);
        Assert.False(ascending.HasMore);
        Assert.Empty(descending.Items);
    }

    [Fact]
    public async Task ListAsync_AfterIdOfAnotherOwner_ReturnsEmptyPage()
    {
        var store = await CreateStoreAsync();
        var bobs = await store.InsertAsync(TestJobs.New(owner: "key_bob"), Ct);
        await InsertManyAsync(store, 2, "key_alice");

        var page = await store.ListAsync(new JobQuery { Owner = "key_alice", After = bobs.Id, Ascending = true }, Ct);

        Assert.Empty(page.Items);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(-5, 1)]
    [InlineData(1_000, 100)]
    public async Task ListAsync_LimitOutOfRange_IsClampedTo1To100(int limit, int expectedCount)
    {
        var store = await CreateStoreAsync();
        await InsertManyAsync(store, 101, "key_clamp");

        var page = await store.ListAsync(new JobQuery { Limit = limit }, Ct);

        Assert.Equal(expectedCount, page.Items.Count);
        Assert.True(page.HasMore);
    }

    [Fact]
    public async Task ListAsync_SoftDeletedJob_ExcludedButGetReturnsIt()
    {
        var store = await CreateStoreAsync();
        var ids = await InsertManyAsync(store, 3, "key_deleted");
        var middle = await store.GetAsync(ids[1], Ct);
        var deletedAt = TestJobs.Epoch.AddHours(2);
        await store.TryUpdateAsync(middle! with { DeletedAt = deletedAt }, Ct);

        var page = await store.ListAsync(new JobQuery { Owner = "key_deleted", Ascending = true }, Ct);
        var deleted = await store.GetAsync(ids[1], Ct);

        Assert.Equal([ids[0], ids[2]], page.Items.Select(j => j.Id));
        Assert.Equal(deletedAt, deleted?.DeletedAt);
    }

    [Fact]
    public async Task ListAsync_AfterSoftDeletedCursor_ContinuesFromItsPlace()
    {
        var store = await CreateStoreAsync();
        var ids = await InsertManyAsync(store, 3, "key_cursor");
        var middle = await store.GetAsync(ids[1], Ct);
        await store.TryUpdateAsync(middle! with { DeletedAt = TestJobs.Epoch }, Ct);

        var ascending = await store.ListAsync(new JobQuery { Owner = "key_cursor", After = ids[1], Ascending = true }, Ct);
        var descending = await store.ListAsync(new JobQuery { Owner = "key_cursor", After = ids[1] }, Ct);

        Assert.Equal([ids[2]], ascending.Items.Select(j => j.Id));
        Assert.Equal([ids[0]], descending.Items.Select(j => j.Id));
    }

    [Fact]
    public async Task ListActiveAsync_MixedStatuses_ReturnsOnlyNonTerminalOldestFirst()
    {
        var store = await CreateStoreAsync();
        var jobs = new List<Job>();
        foreach (var status in new[] { JobStatus.Queued, JobStatus.Succeeded, JobStatus.Running, JobStatus.Failed, JobStatus.Submitting, JobStatus.Cancelled, JobStatus.Queued })
        {
            jobs.Add(await store.InsertAsync(TestJobs.New(status: status, owner: $"key_{jobs.Count % 2}"), Ct));
        }

        await store.TryUpdateAsync(jobs[6] with { DeletedAt = TestJobs.Epoch }, Ct);

        var active = await store.ListActiveAsync(Ct);

        Assert.Equal([jobs[0].Id, jobs[2].Id, jobs[4].Id], active.Select(j => j.Id));
        AssertSameJob(jobs[2], active[1]);
    }

    [Fact]
    public async Task ListActiveAsync_JobReachesTerminalState_NoLongerListed()
    {
        var store = await CreateStoreAsync();
        var first = await store.InsertAsync(TestJobs.New(status: JobStatus.Running), Ct);
        var second = await store.InsertAsync(TestJobs.New(), Ct);

        await store.TryUpdateAsync(first with { Status = JobStatus.Succeeded, Progress = 100 }, Ct);
        var active = await store.ListActiveAsync(Ct);

        Assert.Equal([second.Id], active.Select(j => j.Id));
    }

    [Fact]
    public async Task ListActiveAsync_NoJobs_ReturnsEmpty()
    {
        var store = await CreateStoreAsync();

        Assert.Empty(await store.ListActiveAsync(Ct));
    }

    [Fact]
    public async Task ReopenStoreAsync_AfterWrites_KeepsEveryJob()
    {
        var store = await CreateStoreAsync();
        var full = await store.InsertAsync(TestJobs.Full(), Ct);
        var updated = await store.TryUpdateAsync(full with { Progress = 99, Note = "after update" }, Ct);
        var queued = await store.InsertAsync(TestJobs.New(), Ct);
        if (store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        var reopened = await ReopenStoreAsync();

        AssertSameJob(updated!, (await reopened.GetAsync(full.Id, Ct))!);
        AssertSameJob(queued, (await reopened.GetAsync(queued.Id, Ct))!);
        Assert.Equal([queued.Id], (await reopened.ListActiveAsync(Ct)).Select(j => j.Id));
        Assert.Equal([full.Id, queued.Id], (await reopened.ListAsync(new JobQuery { Ascending = true }, Ct)).Items.Select(j => j.Id));
        Assert.Equal(3, (await reopened.TryUpdateAsync(updated!, Ct))?.Version);
    }

    [Fact]
    public async Task InitializeAsync_CalledAgain_IsHarmless()
    {
        var store = await CreateStoreAsync();
        var job = await store.InsertAsync(TestJobs.Full(), Ct);

        await store.InitializeAsync(Ct);
        await store.InitializeAsync(Ct);

        AssertSameJob(job, (await store.GetAsync(job.Id, Ct))!);
        var next = await store.InsertAsync(TestJobs.New(), Ct);
        Assert.Equal(2, (await store.ListAsync(new JobQuery(), Ct)).Items.Count);
        Assert.Equal(2, (await store.TryUpdateAsync(next, Ct))?.Version);
    }

    /// <summary>Asserts every field is equal, comparing the maps by content.</summary>
    [Fact]
    public async Task ListExpiredAsync_MixedJobs_ReturnsOnlyExpiredNotSweptEarliestFirst()
    {
        var store = await CreateStoreAsync();
        var now = TestJobs.Epoch.AddHours(2);
        Job Succeeded(DateTimeOffset? expires) => TestJobs.New(status: JobStatus.Succeeded) with { ExpiresAt = expires, ResultKey = "videos/x.mp4" };
        var later = await store.InsertAsync(Succeeded(TestJobs.Epoch.AddHours(1)), Ct);
        var earlier = await store.InsertAsync(Succeeded(TestJobs.Epoch.AddMinutes(30)), Ct);
        var exactlyNow = await store.InsertAsync(Succeeded(now), Ct);
        await store.InsertAsync(Succeeded(now.AddMilliseconds(1)), Ct);
        await store.InsertAsync(Succeeded(null), Ct);
        await store.InsertAsync(Succeeded(TestJobs.Epoch) with { ContentDeletedAt = TestJobs.Epoch.AddMinutes(1) }, Ct);
        await store.InsertAsync(Succeeded(TestJobs.Epoch) with { DeletedAt = TestJobs.Epoch }, Ct);

        var all = await store.ListExpiredAsync(now, 100, Ct);
        var first = await store.ListExpiredAsync(now, 1, Ct);
        var swept = await store.TryUpdateAsync(earlier with { ContentDeletedAt = now }, Ct);
        var afterSweep = await store.ListExpiredAsync(now, 100, Ct);

        Assert.Equal([earlier.Id, later.Id, exactlyNow.Id], all.Select(j => j.Id));
        Assert.Equal([earlier.Id], first.Select(j => j.Id));
        Assert.NotNull(swept);
        Assert.Equal([later.Id, exactlyNow.Id], afterSweep.Select(j => j.Id));
    }

    protected static void AssertSameJob(Job expected, Job actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        Assert.Equal(expected.Options.OrderBy(p => p.Key, StringComparer.Ordinal), actual.Options.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(expected.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal), actual.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(expected, actual with { Options = expected.Options, Metadata = expected.Metadata });
    }

    /// <summary>The store's job claims (the store itself for a store that keeps them).</summary>
    protected virtual IJobClaims ClaimsOf(IJobStore store) => Assert.IsAssignableFrom<IJobClaims>(store);

    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ClaimDueAsync_UnfinishedJobs_ClaimsThemInInsertionOrderUpToTheLimitSkippingFinishedAndDeleted()
    {
        var store = await CreateStoreAsync();
        var ids = await InsertManyAsync(store, 4, "key_claims");
        var done = await store.GetAsync(ids[1], Ct);
        await store.TryUpdateAsync(done! with { Status = JobStatus.Succeeded }, Ct);
        var deleted = await store.GetAsync(ids[2], Ct);
        await store.TryUpdateAsync(deleted! with { Status = JobStatus.Cancelled, DeletedAt = TestJobs.Epoch }, Ct);
        var running = await store.InsertAsync(TestJobs.New(status: JobStatus.Running, createdAt: TestJobs.Epoch.AddMinutes(1)), Ct);
        var claims = ClaimsOf(store);

        var first = await claims.ClaimDueAsync("node-a", TestJobs.Epoch, Lease, 2, Ct);
        var rest = await claims.ClaimDueAsync("node-a", TestJobs.Epoch, Lease, 10, Ct);

        Assert.Equal([ids[0], ids[3]], first.Select(j => j.Id));
        Assert.Equal([running.Id], rest.Select(j => j.Id));
        Assert.Equal(JobStatus.Running, rest[0].Status);
        Assert.Empty(await claims.ClaimDueAsync("node-a", TestJobs.Epoch, Lease, 10, Ct)); // Its own live leases are not due either.
    }

    [Fact]
    public async Task ClaimDueAsync_AnotherNodesLeaseLive_NotClaimedUntilItExpires()
    {
        var store = await CreateStoreAsync();
        var job = await store.InsertAsync(TestJobs.New(), Ct);
        var claims = ClaimsOf(store);
        Assert.Single(await claims.ClaimDueAsync("node-a", TestJobs.Epoch, Lease, 10, Ct));

        Assert.Empty(await claims.ClaimDueAsync("node-b", TestJobs.Epoch.AddSeconds(29), Lease, 10, Ct));
        Assert.False(await claims.TryClaimAsync(job.Id, "node-b", TestJobs.Epoch.AddSeconds(29), Lease, Ct));
        var taken = await claims.ClaimDueAsync("node-b", TestJobs.Epoch.AddSeconds(30), Lease, 10, Ct);

        Assert.Equal(job.Id, Assert.Single(taken).Id);
        Assert.False(await claims.TryClaimAsync(job.Id, "node-a", TestJobs.Epoch.AddSeconds(31), Lease, Ct)); // Node a lost it.
    }

    [Fact]
    public async Task TryClaimAsync_FreeOrOwnOrExpired_Succeeds()
    {
        var store = await CreateStoreAsync();
        var job = await store.InsertAsync(TestJobs.New(), Ct);
        var claims = ClaimsOf(store);

        Assert.True(await claims.TryClaimAsync(job.Id, "node-a", TestJobs.Epoch, Lease, Ct));
        Assert.True(await claims.TryClaimAsync(job.Id, "node-a", TestJobs.Epoch.AddSeconds(10), Lease, Ct));
        Assert.False(await claims.TryClaimAsync(job.Id, "node-b", TestJobs.Epoch.AddSeconds(39), Lease, Ct)); // The second claim extended it.
        Assert.True(await claims.TryClaimAsync(job.Id, "node-b", TestJobs.Epoch.AddSeconds(40), Lease, Ct));
    }

    [Fact]
    public async Task RenewClaimsAsync_LiveLeases_ExtendsEveryOneOfTheOwnersInOneCall()
    {
        var store = await CreateStoreAsync();
        var ids = await InsertManyAsync(store, 3, "key_renew");
        var claims = ClaimsOf(store);
        Assert.Equal(2, (await claims.ClaimDueAsync("node-a", TestJobs.Epoch, Lease, 2, Ct)).Count);
        Assert.True(await claims.TryClaimAsync(ids[2], "node-b", TestJobs.Epoch, Lease, Ct));

        Assert.Equal(2, await claims.RenewClaimsAsync("node-a", TestJobs.Epoch.AddSeconds(20), Lease, Ct));

        var at40 = await claims.ClaimDueAsync("node-c", TestJobs.Epoch.AddSeconds(40), Lease, 10, Ct);
        Assert.Equal([ids[2]], at40.Select(j => j.Id)); // Node b did not renew; node a's leases now run to 50 s.
        Assert.Equal(2, (await claims.ClaimDueAsync("node-c", TestJobs.Epoch.AddSeconds(50), Lease, 10, Ct)).Count);
    }

    [Fact]
    public async Task RenewClaimsAsync_LeaseAlreadyExpired_DoesNotReviveIt()
    {
        var store = await CreateStoreAsync();
        var job = await store.InsertAsync(TestJobs.New(), Ct);
        var claims = ClaimsOf(store);
        Assert.True(await claims.TryClaimAsync(job.Id, "node-a", TestJobs.Epoch, Lease, Ct));

        Assert.Equal(0, await claims.RenewClaimsAsync("node-a", TestJobs.Epoch.AddSeconds(31), Lease, Ct));
        Assert.Single(await claims.ClaimDueAsync("node-b", TestJobs.Epoch.AddSeconds(32), Lease, 10, Ct));
    }

    [Fact]
    public async Task ReleaseClaimAsync_WithDueTime_ClaimableByAnyNodeOnlyFromThen()
    {
        var store = await CreateStoreAsync();
        var job = await store.InsertAsync(TestJobs.New(), Ct);
        var claims = ClaimsOf(store);
        Assert.True(await claims.TryClaimAsync(job.Id, "node-a", TestJobs.Epoch, Lease, Ct));

        await claims.ReleaseClaimAsync(job.Id, "node-b", TestJobs.Epoch, Ct); // Not node b's to release: nothing changes.
        await claims.ReleaseClaimAsync(job.Id, "node-a", TestJobs.Epoch.AddSeconds(5), Ct);

        Assert.Empty(await claims.ClaimDueAsync("node-b", TestJobs.Epoch.AddSeconds(4), Lease, 10, Ct));
        Assert.Single(await claims.ClaimDueAsync("node-b", TestJobs.Epoch.AddSeconds(5), Lease, 10, Ct));
    }

    [Fact]
    public async Task ReleaseClaimAsync_JobNeverClaimed_NotDueBeforeItsDueTime()
    {
        var store = await CreateStoreAsync();
        var job = await store.InsertAsync(TestJobs.New(), Ct);
        var claims = ClaimsOf(store);

        await claims.ReleaseClaimAsync(job.Id, "node-a", TestJobs.Epoch.AddSeconds(8), Ct);

        Assert.Empty(await claims.ClaimDueAsync("node-a", TestJobs.Epoch.AddSeconds(7), Lease, 10, Ct));
        Assert.Single(await claims.ClaimDueAsync("node-a", TestJobs.Epoch.AddSeconds(8), Lease, 10, Ct));
    }

    [Fact]
    public async Task ReleaseClaimsAsync_NodeRestarted_ItsJobsAreDueAtOnce()
    {
        var store = await CreateStoreAsync();
        await InsertManyAsync(store, 3, "key_restart");
        var claims = ClaimsOf(store);
        Assert.Equal(3, (await claims.ClaimDueAsync("node-a", TestJobs.Epoch, Lease, 10, Ct)).Count);

        await claims.ReleaseClaimsAsync("node-a", Ct);

        Assert.Equal(3, (await claims.ClaimDueAsync("node-a", TestJobs.Epoch.AddSeconds(1), Lease, 10, Ct)).Count);
    }

    [Fact]
    public async Task ClaimDueAsync_AfterReopen_ClaimsSurvive()
    {
        var store = await CreateStoreAsync();
        var job = await store.InsertAsync(TestJobs.New(), Ct);
        Assert.True(await ClaimsOf(store).TryClaimAsync(job.Id, "node-a", TestJobs.Epoch, Lease, Ct));
        if (store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        var reopened = await ReopenStoreAsync();

        Assert.Empty(await ClaimsOf(reopened).ClaimDueAsync("node-b", TestJobs.Epoch.AddSeconds(10), Lease, 10, Ct));
        Assert.Single(await ClaimsOf(reopened).ClaimDueAsync("node-b", TestJobs.Epoch.AddSeconds(30), Lease, 10, Ct));
    }

    [Fact]
    public async Task ClaimDueAsync_JobFinishedWhileClaimed_NeverClaimedAgain()
    {
        var store = await CreateStoreAsync();
        var job = await store.InsertAsync(TestJobs.New(), Ct);
        var claims = ClaimsOf(store);
        Assert.True(await claims.TryClaimAsync(job.Id, "node-a", TestJobs.Epoch, Lease, Ct));

        await store.TryUpdateAsync(job with { Status = JobStatus.Failed }, Ct);

        Assert.Empty(await claims.ClaimDueAsync("node-b", TestJobs.Epoch.AddMinutes(5), Lease, 10, Ct));
        Assert.Equal(0, await claims.RenewClaimsAsync("node-a", TestJobs.Epoch.AddSeconds(1), Lease, Ct));
    }

    /// <summary>Inserts <paramref name="count"/> queued jobs one after another and returns their ids in insertion order.</summary>
    protected static async Task<List<string>> InsertManyAsync(IJobStore store, int count, string owner)
    {
        ArgumentNullException.ThrowIfNull(store);
        var ids = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            ids.Add((await store.InsertAsync(TestJobs.New(owner: owner, createdAt: TestJobs.Epoch.AddSeconds(i)), Ct)).Id);
        }

        return ids;
    }

    private static async Task<List<Job>> ListAllAsync(IJobStore store, JobQuery query)
    {
        var jobs = new List<Job>();
        for (string? after = null; ;)
        {
            var page = await store.ListAsync(query with { After = after }, Ct);
            jobs.AddRange(page.Items);
            if (!page.HasMore || page.Items.Count == 0 || jobs.Count > 10_000)
            {
                return jobs;
            }

            after = page.Items[^1].Id;
        }
    }
}
