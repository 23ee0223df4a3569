using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Accounts;
using Reelay.Jobs;
using Reelay.Storage.Sqlite;

namespace Reelay.Tests.Accounts;

/// <summary>The SQLite account store: admission, holds and closes under concurrency, and repair after a crash.</summary>
public sealed class AccountStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_780_000_000_000);
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("reelay-accounts-");
    private readonly List<SqliteJobStore> _stores = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Insert_100ConcurrentAgainstBudgetFor10_Exactly10AdmittedAndHeld()
    {
        var store = await OpenAsync();
        await CreateKeyAsync(store, "key_a", budgetMicros: 10 * 40_000);
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
        {
            var job = NewJob("key_a", seconds: 4);
            try
            {
                await store.InsertAsync(job, Admission(job, 10_000), CancellationToken.None);
                return "admitted";
            }
            catch (AdmissionRefusedException refused)
            {
                return refused.Reason.ToString();
            }
        }));

        Assert.Equal(10, outcomes.Count(o => o == "admitted"));
        Assert.All(outcomes.Where(o => o != "admitted"), o => Assert.Equal(nameof(AdmissionRefusal.Budget), o));
        var key = await store.GetKeyAsync("key_a", CancellationToken.None);
        Assert.Equal((400_000L, 0L, 0L, 10), (key!.HeldMicros, key.SpentMicros, key.AvailableMicros!.Value, key.JobsInFlight));
        Assert.Equal(10, (await store.ListChargesAsync(new ChargeQuery { KeyId = "key_a" }, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task Insert_RefusedAdmission_StoresNothing()
    {
        var store = await OpenAsync();
        await CreateKeyAsync(store, "key_b", budgetMicros: 5, maxInFlight: 1);
        var job = NewJob("key_b", seconds: 1);
        var refused = await Assert.ThrowsAsync<AdmissionRefusedException>(() => store.InsertAsync(job, Admission(job, 10) with { IdempotencyKey = "k", Fingerprint = "f" }, CancellationToken.None));
        Assert.Equal(AdmissionRefusal.Budget, refused.Reason);
        Assert.Null(await store.GetAsync(job.Id, CancellationToken.None));
        Assert.Null(await store.FindIdempotencyAsync("key_b", "k", CancellationToken.None));
        Assert.Null(await store.GetChargeAsync(job.Id, CancellationToken.None));

        var free = NewJob("key_b", seconds: 1);
        await store.InsertAsync(free, Admission(free, 0), CancellationToken.None);
        var second = NewJob("key_b", seconds: 1);
        Assert.Equal(AdmissionRefusal.InFlight, (await Assert.ThrowsAsync<AdmissionRefusedException>(() => store.InsertAsync(second, Admission(second, 0), CancellationToken.None))).Reason);
    }

    [Fact]
    public async Task Close_20ConcurrentClosers_MoneyMovesOnce()
    {
        var store = await OpenAsync();
        await CreateKeyAsync(store, "key_c", budgetMicros: 1_000_000);
        var job = NewJob("key_c", seconds: 10);
        await store.InsertAsync(job, Admission(job, 30_000), CancellationToken.None);

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => store.CloseChargeAsync(
            job.Id, new ChargeClosure(ChargeState.Settled, 250_000, 8.3, "test"), Now, CancellationToken.None)));
        Assert.Single(results, r => r);
        var key = await store.GetKeyAsync("key_c", CancellationToken.None);
        Assert.Equal((0L, 250_000L, 750_000L, 0), (key!.HeldMicros, key.SpentMicros, key.AvailableMicros!.Value, key.JobsInFlight));
    }

    [Fact]
    public async Task Reconcile_AfterCrashBetweenFinishAndSettle_ClosesEachHoldExactlyOnce()
    {
        var path = SqliteJobStore.DefaultConnectionString(_directory.FullName);
        var before = await OpenAsync();
        await CreateKeyAsync(before, "key_d", budgetMicros: 2_000_000);
        var done = NewJob("key_d", seconds: 4);
        var failed = NewJob("key_d", seconds: 4);
        var lost = NewJob("key_d", seconds: 4);
        var running = NewJob("key_d", seconds: 4);
        foreach (var job in new[] { done, failed, lost, running })
        {
            await before.InsertAsync(job, Admission(job, 100_000), CancellationToken.None);
        }

        // The jobs ended, but the process died before their charges closed (no observer ran).
        await Finish(before, done, j => j with { Status = JobStatus.Succeeded, ResultDurationSeconds = 3.5 });
        await Finish(before, failed, j => j with { Status = JobStatus.Failed, Error = new JobError(ErrorCodes.ModerationBlocked, "no") });
        await Finish(before, lost, j => j with { Status = JobStatus.Failed, Error = new JobError(ErrorCodes.SubmitOutcomeUnknown, "?"), UpstreamId = null });
        await before.DisposeAsync();

        var after = await OpenAsync();
        var billing = new Billing(after, after, _ => false, new ReelayOptions(), TimeProvider.System, NullLogger<Billing>.Instance);
        Assert.Equal(3, await billing.ReconcileAsync(CancellationToken.None));
        Assert.Equal(0, await billing.ReconcileAsync(CancellationToken.None));

        Assert.Equal((ChargeState.Settled, 350_000L), await StateOf(after, done));
        Assert.Equal((ChargeState.Released, 0L), await StateOf(after, failed));
        Assert.Equal((ChargeState.Unresolved, 0L), await StateOf(after, lost));
        Assert.Equal((ChargeState.Held, 0L), await StateOf(after, running));
        var key = await after.GetKeyAsync("key_d", CancellationToken.None);

        // Budget 2.00 = spent 0.35 + held (lost 0.40 unresolved + running 0.40) + available 0.85.
        Assert.Equal((350_000L, 800_000L, 850_000L, 1), (key!.SpentMicros, key.HeldMicros, key.AvailableMicros!.Value, key.JobsInFlight));
    }

    [Fact]
    public async Task Insert_IdempotencyKeyUsed_RefusedWithTheOriginal()
    {
        var store = await OpenAsync();
        await CreateKeyAsync(store, "key_e", budgetMicros: null);
        var first = NewJob("key_e", seconds: 1);
        await store.InsertAsync(first, Admission(first, 1) with { IdempotencyKey = "same", Fingerprint = "f1" }, CancellationToken.None);
        var second = NewJob("key_e", seconds: 1);
        var used = await Assert.ThrowsAsync<IdempotencyKeyUsedException>(() => store.InsertAsync(second, Admission(second, 1) with { IdempotencyKey = "same", Fingerprint = "f2" }, CancellationToken.None));
        Assert.Equal((first.Id, "f1"), (used.Existing.JobId, used.Existing.Fingerprint));
        Assert.Null(await store.GetAsync(second.Id, CancellationToken.None));
        Assert.Equal(1, (await store.GetKeyAsync("key_e", CancellationToken.None))!.JobsInFlight);

        Assert.Equal(0, await store.PurgeIdempotencyAsync(Now.AddMinutes(-1), CancellationToken.None));
        Assert.Equal(1, await store.PurgeIdempotencyAsync(Now.AddMinutes(1), CancellationToken.None));
        Assert.Null(await store.FindIdempotencyAsync("key_e", "same", CancellationToken.None));
    }

    private static async Task Finish(SqliteJobStore store, Job job, Func<Job, Job> change)
    {
        var current = await store.GetAsync(job.Id, CancellationToken.None);
        Assert.NotNull(await store.TryUpdateAsync(change(current!) with { CompletedAt = Now }, CancellationToken.None));
    }

    private static async Task<(ChargeState, long)> StateOf(SqliteJobStore store, Job job)
    {
        var charge = await store.GetChargeAsync(job.Id, CancellationToken.None);
        return (charge!.State, charge.ChargedMicros);
    }

    private static JobAdmission Admission(Job job, long perSecond) => new()
    {
        KeyId = job.Owner, Tier = "*", PricePerSecondMicros = perSecond, HoldMicros = perSecond * job.DurationSeconds,
    };

    private static Task CreateKeyAsync(SqliteJobStore store, string id, long? budgetMicros, int? maxInFlight = null) => store.CreateKeyAsync(
        new ApiKeyRecord { Id = id, Name = id, Scope = ApiKeyScope.Client, CreatedAt = Now, BudgetMicros = budgetMicros, MaxJobsInFlight = maxInFlight },
        "hash-" + id, CancellationToken.None);

    private static Job NewJob(string owner, int seconds) => new()
    {
        Id = Job.NewId(), Owner = owner, Model = "sandbox", Mode = VideoMode.TextToVideo, Prompt = "p", DurationSeconds = seconds,
        Width = 160, Height = 90, Status = JobStatus.Queued, CreatedAt = Now, UpdatedAt = Now, Deadline = Now.AddHours(1),
    };

    private async Task<SqliteJobStore> OpenAsync()
    {
        var store = new SqliteJobStore(SqliteJobStore.DefaultConnectionString(_directory.FullName));
        await store.InitializeAsync(CancellationToken.None);
        _stores.Add(store);
        return store;
    }
}
