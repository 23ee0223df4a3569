using Microsoft.Extensions.DependencyInjection;
using Reelay.Client;
using Reelay.Client.Admin;
using Reelay.Jobs;
using Reelay.Storage;
using Admissions = Reelay.Accounts.Admissions;
using Billing = Reelay.Accounts.Billing;

namespace Reelay.Server.Tests.Client;

/// <summary>The SDK's admin methods against a real gateway: keys, usage and charges.</summary>
public sealed class ReelayClientAdminTests(AdminServerFixture fixture) : IClassFixture<AdminServerFixture>
{
    private ReelayClient Admin => fixture.Admin;

    [Fact]
    public async Task ApiKeys_CreateListUpdateRevoke_RoundTripsAndRevokedKeyGets401()
    {
        var expires = DateTimeOffset.UtcNow.AddDays(3);
        var created = await Admin.CreateApiKeyAsync(new CreateApiKeyRequest
        {
            Name = "sdk round trip",
            Models = ["sandbox"],
            RateLimitPerMinute = 100,
            MaxJobsInFlight = 3,
            BudgetUsd = 1.5m,
            ExpiresAt = expires,
        });

        Assert.StartsWith("rk_", created.Key, StringComparison.Ordinal);
        Assert.Equal(("sdk round trip", ApiKeyScope.Client, true), (created.Name, created.Scope, created.Active));
        Assert.Equal(["sandbox"], created.Models!);
        Assert.Equal((100, 3, 1.5m, 1.5m, 0m), (created.RateLimitPerMinute, created.MaxJobsInFlight, created.BudgetUsd, created.AvailableUsd, created.SpentUsd));
        Assert.Equal(expires.ToUnixTimeSeconds(), created.ExpiresAt!.Value.ToUnixTimeSeconds());
        Assert.InRange(created.CreatedAt, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Null(created.RevokedAt);

        var listed = Assert.Single(await Admin.ListApiKeysAsync(), k => k.Id == created.Id);
        Assert.Null(listed.Key);
        Assert.Equal(created.Prefix, listed.Prefix);
        Assert.Contains(await Admin.ListApiKeysAsync(), k => k.Id == "admin" && k.Scope == ApiKeyScope.Admin);

        var own = fixture.ClientFor(created.Key!);
        await own.ListVideosAsync();

        var updated = await Admin.UpdateApiKeyAsync(created.Id, new UpdateApiKeyRequest
        {
            Name = "renamed",
            BudgetUsd = 2.25m,
            RateLimitPerMinute = FieldUpdate<int>.Clear,
            Models = FieldUpdate.Clear<IReadOnlyList<string>>(),
            ExpiresAt = FieldUpdate<DateTimeOffset>.Clear,
        });
        Assert.Equal(("renamed", 2.25m, (int?)null, (int?)3), (updated.Name, updated.BudgetUsd, updated.RateLimitPerMinute, updated.MaxJobsInFlight));
        Assert.Null(updated.Models);
        Assert.Null(updated.ExpiresAt);
        var read = await Admin.GetApiKeyAsync(created.Id);
        Assert.Equal(("renamed", 2.25m, (int?)null, (int?)3, (DateTimeOffset?)null), (read.Name, read.BudgetUsd, read.RateLimitPerMinute, read.MaxJobsInFlight, read.ExpiresAt));

        var revoked = await Admin.RevokeApiKeyAsync(created.Id);
        Assert.False(revoked.Active);
        Assert.NotNull(revoked.RevokedAt);
        var refused = await Assert.ThrowsAsync<ReelayApiException>(() => own.ListVideosAsync());
        Assert.Equal((401, "invalid_api_key"), (refused.StatusCode, refused.Code));
    }

    [Fact]
    public async Task UpdateApiKeyAsync_OnlyOneFieldSet_LeavesTheOthers()
    {
        var created = await Admin.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "partial", BudgetUsd = 4m, RateLimitPerMinute = 9, Models = ["sandbox"] });

        var updated = await Admin.UpdateApiKeyAsync(created.Id, new UpdateApiKeyRequest { MaxJobsInFlight = 2 });

        Assert.Equal(("partial", 4m, (int?)9, (int?)2), (updated.Name, updated.BudgetUsd, updated.RateLimitPerMinute, updated.MaxJobsInFlight));
        Assert.Equal(["sandbox"], updated.Models!);
    }

    [Fact]
    public async Task CreateApiKeyAsync_UnknownModel_ThrowsWithServersCodeParamAndMessage()
    {
        var ex = await Assert.ThrowsAsync<ReelayApiException>(() => Admin.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "bad", Models = ["no-such-model"] }));

        Assert.Equal((400, "models"), (ex.StatusCode, ex.Param));
        Assert.Contains("no-such-model", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetApiKeyAsync_UnknownId_Throws404NotFound()
    {
        var ex = await Assert.ThrowsAsync<ReelayApiException>(() => Admin.GetApiKeyAsync("key_nope"));

        Assert.Equal((404, "not_found"), (ex.StatusCode, ex.Code));
    }

    [Fact]
    public async Task AdminMethods_ClientKey_Throw403Forbidden()
    {
        var key = await Admin.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "not an admin" });
        var client = fixture.ClientFor(key.Key!);

        foreach (var call in new Func<Task>[] { () => client.ListApiKeysAsync(), () => client.GetUsageAsync(), () => client.ListChargesAsync(), () => client.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "escalate", Scope = ApiKeyScope.Admin }) })
        {
            var ex = await Assert.ThrowsAsync<ReelayApiException>(call);
            Assert.Equal((403, "forbidden"), (ex.StatusCode, ex.Code));
            Assert.Contains("admin API key", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task UsageAndCharges_AfterPaidSandboxJob_ReportTheSettledSpend()
    {
        var paid = await fixture.PaidJobAsync();
        var charge = paid.Charge;
        Assert.Equal((paid.Key.Id, "sandbox", AdminServerFixture.PricePerSecond, 1, 0.01m), (charge.KeyId, charge.Model, charge.PricePerSecondUsd, charge.RequestedSeconds, charge.HeldUsd));
        Assert.InRange(charge.ChargedUsd, 0.009m, 0.01m);
        Assert.NotNull(charge.ClosedAt);

        var usage = await Admin.GetUsageAsync(keyId: paid.Key.Id);
        var row = Assert.Single(usage.Data);
        Assert.Equal((paid.Key.Id, paid.Key.Name, "sandbox", 1L, 1L, charge.ChargedUsd, 0m), (row.KeyId, row.KeyName, row.Model, row.Jobs, row.Succeeded, row.SpentUsd, row.HeldUsd));
        Assert.Equal((1L, charge.ChargedUsd), (usage.Jobs, usage.SpentUsd));
        Assert.Null(usage.Key);

        var own = await fixture.ClientFor(paid.Secret).GetOwnUsageAsync();
        Assert.Equal(charge.ChargedUsd, own.SpentUsd);
        Assert.Equal((paid.Key.Id, charge.ChargedUsd, 1m - charge.ChargedUsd), (own.Key!.Id, own.Key.SpentUsd, own.Key.AvailableUsd));

        var later = DateTimeOffset.UtcNow.AddHours(1);
        var empty = await Admin.GetUsageAsync(paid.Key.Id, since: later);
        Assert.Empty(empty.Data);
        Assert.Equal(later.ToUnixTimeSeconds(), empty.Since!.Value.ToUnixTimeSeconds());

        var settled = await Admin.ListChargesAsync(paid.Key.Id, ChargeState.Settled, limit: 10);
        Assert.Equal(paid.Video.Id, Assert.Single(settled).JobId);
        Assert.Empty(await Admin.ListChargesAsync(paid.Key.Id, ChargeState.Held));

        var conflict = await Assert.ThrowsAsync<ReelayApiException>(() => Admin.SettleChargeAsync(paid.Video.Id));
        Assert.Equal((409, "conflict"), (conflict.StatusCode, conflict.Code));
    }

    [Fact]
    public async Task SettleAndReleaseChargeAsync_UnresolvedCharges_CloseThemAsAsked()
    {
        var key = await Admin.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "unlucky", BudgetUsd = 1m });
        var ids = await UnresolvedJobsAsync(key.Id, 2);
        Assert.Equal(ids.Order(), (await Admin.ListChargesAsync(key.Id, ChargeState.Unresolved)).Select(c => c.JobId).Order());

        var tooMuch = await Assert.ThrowsAsync<ReelayApiException>(() => Admin.SettleChargeAsync(ids[0], 0.5m));
        Assert.Equal((400, "amount_usd"), (tooMuch.StatusCode, tooMuch.Param));

        var settled = await Admin.SettleChargeAsync(ids[0], 0.05m);
        Assert.Equal((ChargeState.Settled, 0.05m), (settled.State, settled.ChargedUsd));
        var released = await Admin.ReleaseChargeAsync(ids[1]);
        Assert.Equal((ChargeState.Released, 0m), (released.State, released.ChargedUsd));

        var books = await Admin.GetApiKeyAsync(key.Id);
        Assert.Equal((0.05m, 0m, 0.95m), (books.SpentUsd, books.HeldUsd, books.AvailableUsd));
    }

    [Fact]
    public async Task SettleChargeAsync_NoAmount_ChargesTheWholeHold()
    {
        var key = await Admin.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "whole hold", BudgetUsd = 1m });
        var id = (await UnresolvedJobsAsync(key.Id, 1))[0];

        var settled = await Admin.SettleChargeAsync(id);

        Assert.Equal((ChargeState.Settled, 0.1m, 0.1m), (settled.State, settled.HeldUsd, settled.ChargedUsd));
    }

    /// <summary>10-second jobs whose submit outcome is unknown (as after a crash): their charges stay unresolved.</summary>
    private async Task<List<string>> UnresolvedJobsAsync(string keyId, int count)
    {
        var services = fixture.Server.App.Services;
        var jobs = services.GetRequiredService<IJobStore>();
        var billing = services.GetRequiredService<Billing>();
        var admissions = services.GetRequiredService<Admissions>();
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var now = DateTimeOffset.UtcNow;
            var job = new Job
            {
                Id = Job.NewId(), Owner = keyId, Model = "sandbox", Mode = VideoMode.TextToVideo, Prompt = "lost", DurationSeconds = 10, Width = 160, Height = 90,
                Status = JobStatus.Submitting, CreatedAt = now, UpdatedAt = now, Deadline = now.AddHours(1), Provider = "sandbox",
            };
            var stored = await jobs.InsertAsync(job, admissions.For(job, null), CancellationToken.None);
            Assert.NotNull(await jobs.TryUpdateAsync(stored with { Status = JobStatus.Failed, Error = new JobError(ErrorCodes.SubmitOutcomeUnknown, "lost"), CompletedAt = now }, CancellationToken.None));
            Assert.True(await billing.CloseAsync(job.Id, CancellationToken.None));
            ids.Add(job.Id);
        }

        return ids;
    }
}
