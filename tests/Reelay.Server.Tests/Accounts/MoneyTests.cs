using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Accounts;
using Reelay.Jobs;
using Reelay.Server.Tests.Support;
using Reelay.Storage;
using static Reelay.Server.Tests.Accounts.AccountsKit;

namespace Reelay.Server.Tests.Accounts;

/// <summary>Holds at submit, settlement from what was produced, releases, unresolved charges and their admin resolution.</summary>
public sealed class MoneyTests : IAsyncLifetime
{
    // 1.3 cents per second: a 1-second job holds $0.013, so $0.65 covers exactly 50.
    private const decimal PricePerSecond = 0.013m;
    private ReelayTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ReelayTestServer.StartAsync(new() { ["Reelay:Pricing:sandbox:*"] = "0.013" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Submit_200ParallelAgainstBudgetForExactly50_50AcceptedAndBooksBalanceToTheMicro()
    {
        using var key = await CreateKeyAsync(_server, new { name = "budgeted", budget_usd = 50 * PricePerSecond });
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            var (status, body, response) = await SendAsync(key.Http, HttpMethod.Post, "/v1/videos", $$"""{"model":"sandbox","prompt":"race {{i}}","seconds":"1","size":"160x90"}""");
            response.Dispose();
            return (status, body);
        }));

        var accepted = results.Where(r => r.status == 200).Select(r => r.body.GetProperty("id").GetString()!).ToList();
        var refused = results.Where(r => r.status != 200).ToList();
        Assert.Equal(50, accepted.Count);
        Assert.Equal(150, refused.Count);
        Assert.All(refused, r =>
        {
            Assert.Equal(402, r.status);
            Assert.Equal("insufficient_quota", r.body.GetProperty("error").GetProperty("code").GetString());
            Assert.Contains("needs $0.013", r.body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        });

        // While they run, all of the budget is held.
        var during = await GetJsonAsync(_server.Http, $"/admin/keys/{key.Id}");
        Assert.Equal(0.65m, during.GetProperty("held_usd").GetDecimal() + during.GetProperty("spent_usd").GetDecimal());

        foreach (var id in accepted)
        {
            Assert.Equal("completed", (await WaitFinishedAsync(key.Http, id)).GetProperty("status").GetString());
        }

        var books = await WaitSettledAsync(key.Id, 50);
        var charges = (await GetJsonAsync(_server.Http, $"/admin/charges?key_id={key.Id}&limit=1000")).GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(50, charges.Count);
        Assert.All(charges, c =>
        {
            Assert.Equal("settled", c.GetProperty("state").GetString());
            var produced = c.GetProperty("produced_seconds").GetDouble();
            Assert.InRange(produced, 0.9, 1.0);
            Assert.Equal(Math.Round(13_000 * produced, MidpointRounding.AwayFromZero) / 1_000_000, (double)c.GetProperty("charged_usd").GetDecimal(), 9);
        });

        var spent = books.GetProperty("spent_usd").GetDecimal();
        Assert.Equal(charges.Sum(c => c.GetProperty("charged_usd").GetDecimal()), spent);
        Assert.Equal(0m, books.GetProperty("held_usd").GetDecimal());
        Assert.Equal(0.65m, spent + books.GetProperty("available_usd").GetDecimal());
        Assert.Equal(0, books.GetProperty("jobs_in_flight").GetInt32());

        var usage = await GetJsonAsync(_server.Http, $"/admin/usage?key_id={key.Id}");
        var row = usage.GetProperty("data").EnumerateArray().Single();
        Assert.Equal((50L, 50L, spent, 0m), (row.GetProperty("jobs").GetInt64(), row.GetProperty("succeeded").GetInt64(), row.GetProperty("spent_usd").GetDecimal(), row.GetProperty("held_usd").GetDecimal()));
        Assert.InRange(row.GetProperty("seconds").GetDouble(), 45, 50);
    }

    [Fact]
    public async Task Cancel_BeforeAnyUpstreamAccepted_HoldReleasedInFull()
    {
        using var key = await CreateKeyAsync(_server, new { name = "canceller", budget_usd = 1 });
        var (_, video, _) = await SendAsync(key.Http, HttpMethod.Post, "/v1/videos", """{"model":"sandbox","prompt":"long","seconds":"20","size":"1920x1080"}""");
        var id = video.GetProperty("id").GetString()!;
        Assert.Equal(200, (await SendAsync(key.Http, HttpMethod.Post, $"/v1/videos/{id}/cancel")).Status);

        var books = await WaitSettledAsync(key.Id, 1);
        Assert.Equal((0m, 0m, 1m), (books.GetProperty("spent_usd").GetDecimal(), books.GetProperty("held_usd").GetDecimal(), books.GetProperty("available_usd").GetDecimal()));
        var charge = await GetJsonAsync(_server.Http, $"/admin/charges/{id}");
        Assert.Equal(("released", 0.26m), (charge.GetProperty("state").GetString(), charge.GetProperty("held_usd").GetDecimal()));
    }

    [Fact]
    public async Task UnknownOutcome_KeptHeldAsUnresolvedUntilAnAdminSettlesOrReleasesIt()
    {
        using var key = await CreateKeyAsync(_server, new { name = "unlucky", budget_usd = 1 });
        var services = _server.App.Services;
        var jobs = services.GetRequiredService<IJobStore>();
        var billing = services.GetRequiredService<Billing>();
        var admissions = services.GetRequiredService<Admissions>();

        // Two jobs whose submits were cut off by a crash: the outcome upstream is unknown.
        var ids = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var now = DateTimeOffset.UtcNow;
            var job = new Job
            {
                Id = Job.NewId(), Owner = key.Id, Model = "sandbox", Mode = VideoMode.TextToVideo, Prompt = "lost", DurationSeconds = 10, Width = 160, Height = 90,
                Status = JobStatus.Submitting, CreatedAt = now, UpdatedAt = now, Deadline = now.AddHours(1), Provider = "sandbox",
            };
            var stored = await jobs.InsertAsync(job, admissions.For(job, null), CancellationToken.None);
            var failed = await jobs.TryUpdateAsync(stored with { Status = JobStatus.Failed, Error = new JobError(ErrorCodes.SubmitOutcomeUnknown, "lost"), CompletedAt = now }, CancellationToken.None);
            Assert.NotNull(failed);
            Assert.True(await billing.CloseAsync(job.Id, CancellationToken.None));
            Assert.False(await billing.CloseAsync(job.Id, CancellationToken.None));
            ids.Add(job.Id);
        }

        var unresolved = await GetJsonAsync(_server.Http, $"/admin/charges?state=unresolved&key_id={key.Id}");
        Assert.Equal(ids.Order(), unresolved.GetProperty("data").EnumerateArray().Select(c => c.GetProperty("job_id").GetString()).Order());
        var held = await GetJsonAsync(_server.Http, $"/admin/keys/{key.Id}");
        Assert.Equal((0.26m, 0, 0.74m), (held.GetProperty("held_usd").GetDecimal(), held.GetProperty("jobs_in_flight").GetInt32(), held.GetProperty("available_usd").GetDecimal()));
        Assert.Equal(2, (await GetJsonAsync(_server.Http, $"/admin/usage?key_id={key.Id}")).GetProperty("data")[0].GetProperty("unresolved").GetInt64());

        var (tooMuch, error, _) = await SendAsync(_server.Http, HttpMethod.Post, $"/admin/charges/{ids[0]}/settle", """{"amount_usd":0.5}""");
        Assert.Equal(400, tooMuch);
        Assert.Equal("amount_usd", error.GetProperty("error").GetProperty("param").GetString());

        var (settled, charge, _) = await SendAsync(_server.Http, HttpMethod.Post, $"/admin/charges/{ids[0]}/settle", """{"amount_usd":0.1}""");
        Assert.True(settled == 200, charge.ToString());
        Assert.Equal(("settled", 0.1m), (charge.GetProperty("state").GetString(), charge.GetProperty("charged_usd").GetDecimal()));
        Assert.Equal(200, (await SendAsync(_server.Http, HttpMethod.Post, $"/admin/charges/{ids[1]}/release")).Status);
        Assert.Equal(409, (await SendAsync(_server.Http, HttpMethod.Post, $"/admin/charges/{ids[1]}/settle")).Status);
        Assert.Equal(409, (await SendAsync(_server.Http, HttpMethod.Post, $"/admin/charges/{ids[0]}/release")).Status);

        var books = await GetJsonAsync(_server.Http, $"/admin/keys/{key.Id}");
        Assert.Equal((0.1m, 0m, 0.9m), (books.GetProperty("spent_usd").GetDecimal(), books.GetProperty("held_usd").GetDecimal(), books.GetProperty("available_usd").GetDecimal()));
    }

    [Fact]
    public async Task Models_PricesArePublished()
    {
        var models = await GetJsonAsync(_server.Http, "/v1/models");
        var sora = models.GetProperty("data").EnumerateArray().Single(m => m.GetProperty("id").GetString() == "sora-2-pro");
        Assert.Equal(0.5m, sora.GetProperty("pricing").GetProperty("1080p").GetDecimal());
        var sandbox = models.GetProperty("data").EnumerateArray().Single(m => m.GetProperty("id").GetString() == "sandbox");
        Assert.Equal(PricePerSecond, sandbox.GetProperty("pricing").GetProperty("*").GetDecimal());
    }

    /// <summary>Waits until the key has no jobs in flight and the given number of charges is closed, then returns the key.</summary>
    private async Task<JsonElement> WaitSettledAsync(string keyId, int charges)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var key = await GetJsonAsync(_server.Http, $"/admin/keys/{keyId}");
            var list = await GetJsonAsync(_server.Http, $"/admin/charges?key_id={keyId}&state=held");
            if (key.GetProperty("jobs_in_flight").GetInt32() == 0 && list.GetProperty("data").GetArrayLength() == 0)
            {
                var all = await GetJsonAsync(_server.Http, $"/admin/charges?key_id={keyId}&limit=1000");
                Assert.Equal(charges, all.GetProperty("data").GetArrayLength());
                return key;
            }

            Assert.True(DateTime.UtcNow < until, "charges did not close: " + key);
            await Task.Delay(50);
        }
    }
}
