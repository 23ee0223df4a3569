using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Accounts;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Storage;

namespace Reelay.Tests.Accounts;

/// <summary>An account store with the job store over the same database (a job, its hold and its idempotency record are one insert).</summary>
/// <param name="Jobs">The job store.</param>
/// <param name="Accounts">The account store.</param>
public sealed record AccountStores(IJobStore Jobs, IAccountStore Accounts);

/// <summary>
/// The behaviour every <see cref="IAccountStore"/> must have: keys, admission with holds, charges closed exactly once
/// under concurrency, repair after a crash, usage and idempotency records. An implementation's test class derives from
/// this one and supplies the stores; xunit makes one instance per test, so each test gets its own database.
/// </summary>
public abstract class AccountStoreContractTests
{
    /// <summary>A fixed instant.</summary>
    protected static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_780_000_000_000);

    /// <summary>No test here waits on anything that may hang, so none needs a real token.</summary>
    protected static CancellationToken Ct => CancellationToken.None;

    /// <summary>Creates and initializes the stores over a new, empty database that belongs to this test.</summary>
    protected abstract Task<AccountStores> CreateStoresAsync();

    /// <summary>
    /// Opens and initializes other stores over the database of <see cref="CreateStoresAsync"/>, as a restarted process
    /// would. Callers dispose the earlier stores first with <see cref="CloseStoresAsync"/>.
    /// </summary>
    protected abstract Task<AccountStores> ReopenStoresAsync();

    /// <summary>Closes stores as a crashing process would leave them (no more work through them).</summary>
    protected abstract Task CloseStoresAsync(AccountStores stores);

    [Fact]
    public async Task CreateKeyAsync_NewKey_GetFindAndListReturnEveryField()
    {
        var (_, store) = await CreateStoresAsync();
        var key = new ApiKeyRecord
        {
            Id = "key_full", Name = "full", Scope = ApiKeyScope.Admin, Prefix = "rk_abc…", CreatedAt = Now, ExpiresAt = Now.AddDays(3),
            AllowedModels = ["sandbox", "vidu-q1"], SubmitsPerMinute = 7, MaxJobsInFlight = 3, BudgetMicros = 9_000_000,
        };

        await store.CreateKeyAsync(key, "hash-full", Ct);

        AssertSameKey(key, await store.GetKeyAsync("key_full", Ct));
        AssertSameKey(key, await store.FindKeyByHashAsync("hash-full", Ct));
        AssertSameKey(key, Assert.Single(await NewKeysAsync(store)));
    }

    [Fact]
    public async Task GetKeyAsync_UnknownIdOrHash_ReturnsNull()
    {
        var (_, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_a", budgetMicros: null);

        Assert.Null(await store.GetKeyAsync("key_nope", Ct));
        Assert.Null(await store.FindKeyByHashAsync("hash-nope", Ct));
        Assert.Null(await store.FindKeyByHashAsync("key_a", Ct));
    }

    [Fact]
    public async Task ListKeysAsync_NewDatabase_HoldsOnlyTheBootstrapAdminKeyWithoutSecret()
    {
        var (_, store) = await CreateStoresAsync();

        var admin = Assert.Single(await store.ListKeysAsync(Ct));

        Assert.Equal((Caller.AdminKeyId, ApiKeyScope.Admin, (long?)null), (admin.Id, admin.Scope, admin.BudgetMicros));
        Assert.True(admin.IsActive(Now));
    }

    [Fact]
    public async Task ListKeysAsync_SeveralKeys_OldestFirst()
    {
        var (_, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_b", budgetMicros: null, createdAt: Now.AddMinutes(2));
        await CreateKeyAsync(store, "key_c", budgetMicros: null, createdAt: Now);
        await CreateKeyAsync(store, "key_a", budgetMicros: null, createdAt: Now.AddMinutes(1));

        Assert.Equal(["key_c", "key_a", "key_b"], (await NewKeysAsync(store)).Select(k => k.Id));
    }

    [Fact]
    public async Task UpdateKeyAsync_SomeFields_ChangesOnlyThoseAndClearsNulls()
    {
        var (_, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_a", budgetMicros: 100, maxInFlight: 2);

        var updated = await store.UpdateKeyAsync("key_a", new ApiKeyChanges
        {
            Name = "renamed", BudgetMicros = (long?)null, SubmitsPerMinute = 5, AllowedModels = new List<string> { "sandbox" },
        }, Ct);

        Assert.NotNull(updated);
        Assert.Equal(("renamed", (long?)null, (int?)5, (int?)2), (updated.Name, updated.BudgetMicros, updated.SubmitsPerMinute, updated.MaxJobsInFlight));
        Assert.Equal(["sandbox"], updated.AllowedModels!);
        AssertSameKey(updated, await store.GetKeyAsync("key_a", Ct));
        Assert.Equal("renamed", (await store.UpdateKeyAsync("key_a", new ApiKeyChanges(), Ct))!.Name);
    }

    [Fact]
    public async Task UpdateKeyAsync_UnknownKey_ReturnsNull()
    {
        var (_, store) = await CreateStoresAsync();

        Assert.Null(await store.UpdateKeyAsync("key_nope", new ApiKeyChanges { Name = "x" }, Ct));
    }

    [Fact]
    public async Task RevokeKeyAsync_TwiceConcurrently_FirstRevocationTimeStays()
    {
        var (_, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_a", budgetMicros: null);

        var first = await store.RevokeKeyAsync("key_a", Now.AddMinutes(1), Ct);
        var again = await Task.WhenAll(Enumerable.Range(2, 10).Select(i => store.RevokeKeyAsync("key_a", Now.AddMinutes(i), Ct)));

        Assert.Equal(Now.AddMinutes(1), first!.RevokedAt);
        Assert.All(again, k => Assert.Equal(Now.AddMinutes(1), k!.RevokedAt));
        Assert.False((await store.GetKeyAsync("key_a", Ct))!.IsActive(Now.AddMinutes(2)));
        Assert.Null(await store.RevokeKeyAsync("key_nope", Now, Ct));
    }

    [Fact]
    public async Task InsertAsync_100ConcurrentAgainstBudgetFor10_Exactly10AdmittedAndHeld()
    {
        var (jobs, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_a", budgetMicros: 10 * 40_000);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => TryAdmitAsync(jobs, NewJob("key_a", seconds: 4), 10_000)));

        Assert.Equal(10, outcomes.Count(o => o == "admitted"));
        Assert.All(outcomes.Where(o => o != "admitted"), o => Assert.Equal(nameof(AdmissionRefusal.Budget), o));
        var key = await store.GetKeyAsync("key_a", Ct);
        Assert.Equal((400_000L, 0L, 0L, 10), (key!.HeldMicros, key.SpentMicros, key.AvailableMicros!.Value, key.JobsInFlight));
        Assert.Equal(10, (await store.ListChargesAsync(new ChargeQuery { KeyId = "key_a" }, Ct)).Count);
    }

    [Fact]
    public async Task InsertAsync_50ConcurrentAgainstInFlightLimit5_Exactly5Admitted()
    {
        var (jobs, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_a", budgetMicros: null, maxInFlight: 5);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => TryAdmitAsync(jobs, NewJob("key_a", seconds: 1), 0)));

        Assert.Equal(5, outcomes.Count(o => o == "admitted"));
        Assert.All(outcomes.Where(o => o != "admitted"), o => Assert.Equal(nameof(AdmissionRefusal.InFlight), o));
        Assert.Equal(5, (await store.GetKeyAsync("key_a", Ct))!.JobsInFlight);
    }

    [Fact]
    public async Task InsertAsync_RefusedAdmission_StoresNothing()
    {
        var (jobs, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_b", budgetMicros: 5, maxInFlight: 1);
        var job = NewJob("key_b", seconds: 1);

        var refused = await Assert.ThrowsAsync<AdmissionRefusedException>(() => jobs.InsertAsync(job, Admission(job, 10) with { IdempotencyKey = "k", Fingerprint = "f" }, Ct));

        Assert.Equal(AdmissionRefusal.Budget, refused.Reason);
        Assert.Null(await jobs.GetAsync(job.Id, Ct));
        Assert.Null(await store.FindIdempotencyAsync("key_b", "k", Ct));
        Assert.Null(await store.GetChargeAsync(job.Id, Ct));
        var free = NewJob("key_b", seconds: 1);
        await jobs.InsertAsync(free, Admission(free, 0), Ct);
        var second = NewJob("key_b", seconds: 1);
        Assert.Equal(AdmissionRefusal.InFlight, (await Assert.ThrowsAsync<AdmissionRefusedException>(() => jobs.InsertAsync(second, Admission(second, 0), Ct))).Reason);
    }

    [Fact]
    public async Task InsertAsync_RevokedExpiredOrMissingKey_RefusedAsKeyInactive()
    {
        var (jobs, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_revoked", budgetMicros: null);
        await store.RevokeKeyAsync("key_revoked", Now.AddMinutes(-1), Ct);
        await CreateKeyAsync(store, "key_expired", budgetMicros: null, expiresAt: Now);

        foreach (var owner in new[] { "key_revoked", "key_expired", "key_missing" })
        {
            var job = NewJob(owner, seconds: 1);
            var refused = await Assert.ThrowsAsync<AdmissionRefusedException>(() => jobs.InsertAsync(job, Admission(job, 0), Ct));
            Assert.Equal(AdmissionRefusal.KeyInactive, refused.Reason);
            Assert.Null(await jobs.GetAsync(job.Id, Ct));
        }
    }

    [Fact]
    public async Task InsertAsync_Admitted_ChargeHeldWithLockedPrice()
    {
        var (jobs, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_a", budgetMicros: null);
        var job = NewJob("key_a", seconds: 6);

        await jobs.InsertAsync(job, Admission(job, 2_500) with { Tier = "720p" }, Ct);

        var charge = await store.GetChargeAsync(job.Id, Ct);
        Assert.NotNull(charge);
        Assert.Equal((job.Id, "key_a", "sandbox", "720p", 2_500L, 6, 15_000L, ChargeState.Held, 0L, Now, (DateTimeOffset?)null),
            (charge.JobId, charge.KeyId, charge.Model, charge.Tier, charge.PricePerSecondMicros, charge.RequestedSeconds, charge.HoldMicros, charge.State,
                charge.ChargedMicros, charge.CreatedAt, charge.ClosedAt));
        Assert.Null(await store.GetChargeAsync("job_nope", Ct));
    }

    [Fact]
    public async Task InsertAsync_IdempotencyKeyUsedConcurrently_OneAdmittedOthersGetTheOriginal()
    {
        var (jobs, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_e", budgetMicros: null);
        var candidates = Enumerable.Range(0, 20).Select(_ => NewJob("key_e", seconds: 1)).ToList();

        var outcomes = await Task.WhenAll(candidates.Select(async (job, i) =>
        {
            try
            {
                await jobs.InsertAsync(job, Admission(job, 1) with { IdempotencyKey = "same", Fingerprint = "f" + i }, Ct);
                return (Job: job.Id, Existing: (IdempotencyRecord?)null);
            }
            catch (IdempotencyKeyUsedException used)
            {
                return (Job: job.Id, Existing: used.Existing);
            }
        }));

        var winner = Assert.Single(outcomes, o => o.Existing is null);
        Assert.All(outcomes.Where(o => o.Existing is not null), o => Assert.Equal(winner.Job, o.Existing!.JobId));
        Assert.Equal(1, (await store.GetKeyAsync("key_e", Ct))!.JobsInFlight);
        var record = await store.FindIdempotencyAsync("key_e", "same", Ct);
        Assert.Equal((winner.Job, "f" + candidates.FindIndex(j => j.Id == winner.Job), Now), (record!.JobId, record.Fingerprint, record.CreatedAt));
        Assert.Null(await store.FindIdempotencyAsync("key_other", "same", Ct));
    }

    [Fact]
    public async Task PurgeIdempotencyAsync_Cutoff_DeletesOnlyOlderRecords()
    {
        var (jobs, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_e", budgetMicros: null);
        var job = NewJob("key_e", seconds: 1);
        await jobs.InsertAsync(job, Admission(job, 1) with { IdempotencyKey = "same", Fingerprint = "f1" }, Ct);

        Assert.Equal(0, await store.PurgeIdempotencyAsync(Now, Ct));
        Assert.NotNull(await store.FindIdempotencyAsync("key_e", "same", Ct));
        Assert.Equal(1, await store.PurgeIdempotencyAsync(Now.AddMilliseconds(1), Ct));
        Assert.Null(await store.FindIdempotencyAsync("key_e", "same", Ct));
        var again = NewJob("key_e", seconds: 1);
        await jobs.InsertAsync(again, Admission(again, 1) with { IdempotencyKey = "same", Fingerprint = "f2" }, Ct);
        Assert.Equal(again.Id, (await store.FindIdempotencyAsync("key_e", "same", Ct))!.JobId);
    }

    [Fact]
    public async Task CloseChargeAsync_20ConcurrentClosers_MoneyMovesOnce()
    {
        var (jobs, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_c", budgetMicros: 1_000_000);
        var job = NewJob("key_c", seconds: 10);
        await jobs.InsertAsync(job, Admission(job, 30_000), Ct);

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => store.CloseChargeAsync(
            job.Id, new ChargeClosure(i % 2 == 0 ? ChargeState.Settled : ChargeState.Released, 250_000, 8.3, "test"), Now, Ct)));

        Assert.Single(results, r => r);
        var key = await store.GetKeyAsync("key_c", Ct);
        var charge = await store.GetChargeAsync(job.Id, Ct);
        var spent = charge!.State == ChargeState.Settled ? 250_000L : 0L;
        Assert.Equal((0L, spent, 1_000_000L - spent, 0), (key!.HeldMicros, key.SpentMicros, key.AvailableMicros!.Value, key.JobsInFlight));
        Assert.Equal(Now, charge.ClosedAt);
    }

    [Fact]
    public async Task CloseChargeAsync_SettleAboveHold_ChargesAtMostTheHold()
    {
        var (jobs, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_c", budgetMicros: 1_000_000);
        var job = NewJob("key_c", seconds: 2);
        await jobs.InsertAsync(job, Admission(job, 10_000), Ct);

        Assert.True(await store.CloseChargeAsync(job.Id, new ChargeClosure(ChargeState.Settled, 99_000, 2.4, "produced"), Now, Ct));

        var charge = await store.GetChargeAsync(job.Id, Ct);
        Assert.Equal((ChargeState.Settled, 20_000L, 2.4, "produced"), (charge!.State, charge.ChargedMicros, charge.ProducedSeconds, charge.Reason));
        Assert.Equal(20_000L, (await store.GetKeyAsync("key_c", Ct))!.SpentMicros);
    }

    [Fact]
    public async Task CloseChargeAsync_NotHeldOrMissing_ReturnsFalseAndChangesNothing()
    {
        var (jobs, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_c", budgetMicros: 1_000_000);
        var job = NewJob("key_c", seconds: 2);
        await jobs.InsertAsync(job, Admission(job, 10_000), Ct);
        Assert.True(await store.CloseChargeAsync(job.Id, new ChargeClosure(ChargeState.Released, 0, 0, "failed"), Now, Ct));

        Assert.False(await store.CloseChargeAsync(job.Id, new ChargeClosure(ChargeState.Settled, 20_000, 2, "late"), Now, Ct));
        Assert.False(await store.CloseChargeAsync("job_nope", new ChargeClosure(ChargeState.Released, 0, 0, "none"), Now, Ct));

        var key = await store.GetKeyAsync("key_c", Ct);
        Assert.Equal((0L, 0L, 0), (key!.HeldMicros, key.SpentMicros, key.JobsInFlight));
        Assert.Equal((ChargeState.Released, "failed"), ((await store.GetChargeAsync(job.Id, Ct))!.State, (await store.GetChargeAsync(job.Id, Ct))!.Reason));
    }

    [Fact]
    public async Task ResolveChargeAsync_UnresolvedWith10ConcurrentResolvers_MoneyMovesOnce()
    {
        var (jobs, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_u", budgetMicros: 1_000_000);
        var job = NewJob("key_u", seconds: 4);
        await jobs.InsertAsync(job, Admission(job, 100_000), Ct);
        Assert.False(await store.ResolveChargeAsync(job.Id, new ChargeClosure(ChargeState.Settled, 1, 1, "too early"), Now, Ct));
        Assert.True(await store.CloseChargeAsync(job.Id, new ChargeClosure(ChargeState.Unresolved, 0, 0, "unknown"), Now, Ct));
        var unresolved = await store.GetKeyAsync("key_u", Ct);
        Assert.Equal((400_000L, 0), (unresolved!.HeldMicros, unresolved.JobsInFlight));

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ =>
            store.ResolveChargeAsync(job.Id, new ChargeClosure(ChargeState.Settled, 300_000, 3, "admin"), Now.AddHours(1), Ct)));

        Assert.Single(results, r => r);
        var key = await store.GetKeyAsync("key_u", Ct);
        Assert.Equal((0L, 300_000L, 0), (key!.HeldMicros, key.SpentMicros, key.JobsInFlight));
        Assert.Equal((ChargeState.Settled, Now.AddHours(1)), ((await store.GetChargeAsync(job.Id, Ct))!.State, (await store.GetChargeAsync(job.Id, Ct))!.ClosedAt!.Value));
    }

    [Fact]
    public async Task ResolveChargeAsync_ToUnresolved_ThrowsArgumentException()
    {
        var (_, store) = await CreateStoresAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => store.ResolveChargeAsync("job_x", new ChargeClosure(ChargeState.Unresolved, 0, 0, "x"), Now, Ct));
    }

    [Fact]
    public async Task ListChargesAsync_ByKeyStateAndLimit_NewestFirst()
    {
        var (jobs, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_a", budgetMicros: null);
        await CreateKeyAsync(store, "key_b", budgetMicros: null);
        var a = new List<Job>();
        for (var i = 0; i < 4; i++)
        {
            var job = NewJob("key_a", seconds: 1, createdAt: Now.AddMinutes(i));
            await jobs.InsertAsync(job, Admission(job, 1), Ct);
            a.Add(job);
        }

        var b = NewJob("key_b", seconds: 1);
        await jobs.InsertAsync(b, Admission(b, 1), Ct);
        await store.CloseChargeAsync(a[1].Id, new ChargeClosure(ChargeState.Released, 0, 0, "failed"), Now, Ct);

        Assert.Equal([a[3].Id, a[2].Id, a[1].Id, a[0].Id], (await store.ListChargesAsync(new ChargeQuery { KeyId = "key_a" }, Ct)).Select(c => c.JobId));
        Assert.Equal([a[3].Id, a[2].Id], (await store.ListChargesAsync(new ChargeQuery { KeyId = "key_a", Limit = 2 }, Ct)).Select(c => c.JobId));
        Assert.Equal([a[1].Id], (await store.ListChargesAsync(new ChargeQuery { State = ChargeState.Released }, Ct)).Select(c => c.JobId));
        Assert.Equal(5, (await store.ListChargesAsync(new ChargeQuery(), Ct)).Count);
    }

    [Fact]
    public async Task ListHeldChargesOfFinishedJobsAsync_MixedJobs_ListsOnlyHeldOfTerminalOrDeletedJobs()
    {
        var (jobs, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_d", budgetMicros: null);
        var done = await AdmitAsync(jobs, NewJob("key_d", seconds: 1, createdAt: Now));
        var cancelled = await AdmitAsync(jobs, NewJob("key_d", seconds: 1, createdAt: Now.AddSeconds(1)));
        var running = await AdmitAsync(jobs, NewJob("key_d", seconds: 1, createdAt: Now.AddSeconds(2)));
        var closed = await AdmitAsync(jobs, NewJob("key_d", seconds: 1, createdAt: Now.AddSeconds(3)));
        await FinishAsync(jobs, done, j => j with { Status = JobStatus.Succeeded, ResultDurationSeconds = 1 });
        await FinishAsync(jobs, cancelled, j => j with { Status = JobStatus.Cancelled });
        await FinishAsync(jobs, running, j => j with { Status = JobStatus.Running, CompletedAt = null });
        await FinishAsync(jobs, closed, j => j with { Status = JobStatus.Failed });
        await store.CloseChargeAsync(closed.Id, new ChargeClosure(ChargeState.Released, 0, 0, "failed"), Now, Ct);

        Assert.Equal([done.Id, cancelled.Id], await store.ListHeldChargesOfFinishedJobsAsync(10, Ct));
        Assert.Equal([done.Id], await store.ListHeldChargesOfFinishedJobsAsync(1, Ct));
    }

    [Fact]
    public async Task ReconcileAsync_AfterCrashBetweenFinishAndSettle_ClosesEachHoldExactlyOnce()
    {
        var before = await CreateStoresAsync();
        await CreateKeyAsync(before.Accounts, "key_d", budgetMicros: 2_000_000);
        var done = await AdmitAsync(before.Jobs, NewJob("key_d", seconds: 4), 100_000);
        var failed = await AdmitAsync(before.Jobs, NewJob("key_d", seconds: 4), 100_000);
        var lost = await AdmitAsync(before.Jobs, NewJob("key_d", seconds: 4), 100_000);
        var running = await AdmitAsync(before.Jobs, NewJob("key_d", seconds: 4), 100_000);

        // The jobs ended, but the process died before their charges closed (no observer ran).
        await FinishAsync(before.Jobs, done, j => j with { Status = JobStatus.Succeeded, ResultDurationSeconds = 3.5 });
        await FinishAsync(before.Jobs, failed, j => j with { Status = JobStatus.Failed, Error = new JobError(ErrorCodes.ModerationBlocked, "no") });
        await FinishAsync(before.Jobs, lost, j => j with { Status = JobStatus.Failed, Error = new JobError(ErrorCodes.SubmitOutcomeUnknown, "?"), UpstreamId = null });
        await CloseStoresAsync(before);

        var after = await ReopenStoresAsync();
        var billing = new Billing(after.Accounts, after.Jobs, _ => false, new ReelayOptions(), TimeProvider.System, NullLogger<Billing>.Instance);
        Assert.Equal(3, await billing.ReconcileAsync(Ct));
        Assert.Equal(0, await billing.ReconcileAsync(Ct));

        Assert.Equal((ChargeState.Settled, 350_000L), await StateOfAsync(after.Accounts, done));
        Assert.Equal((ChargeState.Released, 0L), await StateOfAsync(after.Accounts, failed));
        Assert.Equal((ChargeState.Unresolved, 0L), await StateOfAsync(after.Accounts, lost));
        Assert.Equal((ChargeState.Held, 0L), await StateOfAsync(after.Accounts, running));
        var key = await after.Accounts.GetKeyAsync("key_d", Ct);

        // Budget 2.00 = spent 0.35 + held (lost 0.40 unresolved + running 0.40) + available 0.85.
        Assert.Equal((350_000L, 800_000L, 850_000L, 1), (key!.SpentMicros, key.HeldMicros, key.AvailableMicros!.Value, key.JobsInFlight));
    }

    [Fact]
    public async Task UsageAsync_ChargesInEveryState_SumsPerKeyAndModelWithinTheWindow()
    {
        var (jobs, store) = await CreateStoresAsync();
        await CreateKeyAsync(store, "key_a", budgetMicros: null);
        await CreateKeyAsync(store, "key_b", budgetMicros: null);
        var settled = await AdmitAsync(jobs, NewJob("key_a", seconds: 4, createdAt: Now), 1_000);
        var unresolved = await AdmitAsync(jobs, NewJob("key_a", seconds: 2, createdAt: Now.AddMinutes(1)), 1_000);
        await AdmitAsync(jobs, NewJob("key_a", seconds: 3, createdAt: Now.AddMinutes(2)), 1_000);
        await AdmitAsync(jobs, NewJob("key_a", seconds: 1, createdAt: Now.AddMinutes(3), model: "vidu-q1"), 5_000);
        await AdmitAsync(jobs, NewJob("key_b", seconds: 1, createdAt: Now.AddHours(1)), 7);
        await store.CloseChargeAsync(settled.Id, new ChargeClosure(ChargeState.Settled, 3_500, 3.5, "produced"), Now, Ct);
        await store.CloseChargeAsync(unresolved.Id, new ChargeClosure(ChargeState.Unresolved, 0, 0, "unknown"), Now, Ct);

        var all = await store.UsageAsync(new UsageQuery(), Ct);
        var sandboxA = all.Single(r => r.KeyId == "key_a" && r.Model == "sandbox");
        Assert.Equal(("key_a", 3L, 1L, 3.5, 3_500L, 5_000L, 1L), (sandboxA.KeyName, sandboxA.Jobs, sandboxA.Succeeded, sandboxA.Seconds, sandboxA.SpentMicros, sandboxA.HeldMicros, sandboxA.Unresolved));
        Assert.Equal([("key_a", "sandbox"), ("key_a", "vidu-q1"), ("key_b", "sandbox")], all.Select(r => (r.KeyId, r.Model)));
        Assert.Equal(["key_b"], (await store.UsageAsync(new UsageQuery { KeyId = "key_b" }, Ct)).Select(r => r.KeyId));
        var window = await store.UsageAsync(new UsageQuery { Since = Now.AddMinutes(1), Until = Now.AddMinutes(3) }, Ct);
        Assert.Equal(2L, Assert.Single(window).Jobs);
    }

    [Fact]
    public async Task ReopenStoresAsync_AfterRestart_KeysChargesAndIdempotencyRemain()
    {
        var before = await CreateStoresAsync();
        await CreateKeyAsync(before.Accounts, "key_a", budgetMicros: 50_000);
        var job = await AdmitAsync(before.Jobs, NewJob("key_a", seconds: 2), 1_000, idempotencyKey: "once");
        await CloseStoresAsync(before);

        var (_, store) = await ReopenStoresAsync();

        var key = await store.GetKeyAsync("key_a", Ct);
        Assert.Equal((2_000L, 1), (key!.HeldMicros, key.JobsInFlight));
        Assert.Equal(ChargeState.Held, (await store.GetChargeAsync(job.Id, Ct))!.State);
        Assert.Equal(job.Id, (await store.FindIdempotencyAsync("key_a", "once", Ct))!.JobId);
        Assert.NotNull(await store.FindKeyByHashAsync("hash-key_a", Ct));
    }

    /// <summary>The keys this test made (a store may start with a bootstrap admin key of its own).</summary>
    private static async Task<IEnumerable<ApiKeyRecord>> NewKeysAsync(IAccountStore store) =>
        (await store.ListKeysAsync(Ct)).Where(k => k.Id.StartsWith("key_", StringComparison.Ordinal));

    private static void AssertSameKey(ApiKeyRecord expected, ApiKeyRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected with { AllowedModels = null }, actual with { AllowedModels = null });
        Assert.Equal(expected.AllowedModels, actual.AllowedModels);
    }

    private static async Task<string> TryAdmitAsync(IJobStore jobs, Job job, long perSecond)
    {
        try
        {
            await jobs.InsertAsync(job, Admission(job, perSecond), Ct);
            return "admitted";
        }
        catch (AdmissionRefusedException refused)
        {
            return refused.Reason.ToString();
        }
    }

    private static async Task<Job> AdmitAsync(IJobStore jobs, Job job, long perSecond = 1, string? idempotencyKey = null) =>
        await jobs.InsertAsync(job, Admission(job, perSecond) with { IdempotencyKey = idempotencyKey, Fingerprint = idempotencyKey is null ? null : "f" }, Ct);

    private static async Task FinishAsync(IJobStore jobs, Job job, Func<Job, Job> change)
    {
        var current = await jobs.GetAsync(job.Id, Ct);
        Assert.NotNull(await jobs.TryUpdateAsync(change(current! with { CompletedAt = Now }), Ct));
    }

    private static async Task<(ChargeState, long)> StateOfAsync(IAccountStore store, Job job)
    {
        var charge = await store.GetChargeAsync(job.Id, Ct);
        return (charge!.State, charge.ChargedMicros);
    }

    private static JobAdmission Admission(Job job, long perSecond) => new()
    {
        KeyId = job.Owner, Tier = "*", PricePerSecondMicros = perSecond, HoldMicros = perSecond * job.DurationSeconds,
    };

    private static Task CreateKeyAsync(IAccountStore store, string id, long? budgetMicros, int? maxInFlight = null, DateTimeOffset? createdAt = null,
        DateTimeOffset? expiresAt = null) => store.CreateKeyAsync(
        new ApiKeyRecord
        {
            Id = id, Name = id, Scope = ApiKeyScope.Client, CreatedAt = createdAt ?? Now, ExpiresAt = expiresAt, BudgetMicros = budgetMicros, MaxJobsInFlight = maxInFlight,
        },
        "hash-" + id, Ct);

    private static Job NewJob(string owner, int seconds, DateTimeOffset? createdAt = null, string model = "sandbox") => new()
    {
        Id = Job.NewId(), Owner = owner, Model = model, Mode = VideoMode.TextToVideo, Prompt = "p", DurationSeconds = seconds,
        Width = 160, Height = 90, Status = JobStatus.Queued, CreatedAt = createdAt ?? Now, UpdatedAt = createdAt ?? Now, Deadline = (createdAt ?? Now).AddHours(1),
    };
}
