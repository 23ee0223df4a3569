using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Reelay.Client;
using Reelay.Client.Admin;
using Reelay.Server.Tests.Client;

namespace Reelay.Server.Tests.Cli;

/// <summary><c>reelay keys</c>, <c>usage</c> and <c>charges</c> against a real gateway where sandbox jobs cost money.</summary>
public sealed partial class AdminCommandTests(AdminServerFixture fixture) : IClassFixture<AdminServerFixture>
{
    private string Url => fixture.Server.BaseAddress.ToString();

    private string AdminKey => fixture.Server.ApiKey;

    [Fact]
    public async Task KeysCreate_AdminKey_PrintsAWorkingSecretOnceWithAWarning()
    {
        var result = await RunAsync("keys", "create", "--name", "cli made", "--models", "sandbox", "--budget", "2.5", "--max-in-flight", "4", "--expires", "30d");

        Assert.True(result.ExitCode == 0, result.Error);
        var secret = SecretLine().Match(result.Output).Groups[1].Value;
        Assert.StartsWith("rk_", secret, StringComparison.Ordinal);
        Assert.Single(Regex.Matches(result.Output, Regex.Escape(secret)));
        Assert.Contains("not shown again", result.Error, StringComparison.Ordinal);
        Assert.Contains("$2.5", result.Output, StringComparison.Ordinal);

        var own = await fixture.ClientFor(secret).GetOwnUsageAsync();
        Assert.Equal(("cli made", 2.5m, (int?)4, "sandbox"), (own.Key!.Name, own.Key.BudgetUsd, own.Key.MaxJobsInFlight, Assert.Single(own.Key.Models!)));
        Assert.InRange(own.Key.ExpiresAt!.Value, DateTimeOffset.UtcNow.AddDays(29.9), DateTimeOffset.UtcNow.AddDays(30.1));
    }

    [Fact]
    public async Task KeysList_AfterCreate_ShowsTheKeyButNeverItsSecret()
    {
        var key = await fixture.Admin.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "listed-key", BudgetUsd = 3m });

        var result = await RunAsync("keys", "list");

        Assert.True(result.ExitCode == 0, result.Error);
        var line = Assert.Single(result.Output.Split('\n'), l => l.Contains(key.Id, StringComparison.Ordinal));
        Assert.Contains("listed-key", line, StringComparison.Ordinal);
        Assert.Contains("active", line, StringComparison.Ordinal);
        Assert.Contains("$3.00", line, StringComparison.Ordinal);
        Assert.DoesNotContain(key.Key!, result.Output + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysList_ClientKey_PrintsTheServers403MessageAndExitsOne()
    {
        var key = await fixture.Admin.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "a client" });

        var result = await CliRunner.RunAsync(["keys", "list", "--url", Url, "--key", key.Key!]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error: This route needs an admin API key; this key is a client key. (forbidden)", result.Error, StringComparison.Ordinal);
        Assert.Contains("REELAY_ADMIN_KEY", result.Error, StringComparison.Ordinal);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public async Task KeysList_BothKeysInEnvironment_UsesTheAdminKey()
    {
        var client = await fixture.Admin.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "env client" });
        var environment = new Dictionary<string, string> { ["REELAY_URL"] = Url, ["REELAY_API_KEY"] = client.Key!, ["REELAY_ADMIN_KEY"] = AdminKey };

        var result = await CliRunner.RunAsync(["keys", "list"], environment);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains(client.Id, result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysUpdate_SetAndClearOptions_ChangeOnlyThoseFields()
    {
        var key = await fixture.Admin.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "to change", BudgetUsd = 5m, RateLimitPerMinute = 10, Models = ["sandbox"], MaxJobsInFlight = 2 });

        var result = await RunAsync("keys", "update", key.Id, "--no-budget", "--no-models", "--rate-per-minute", "7");

        Assert.True(result.ExitCode == 0, result.Error);
        var read = await fixture.Admin.GetApiKeyAsync(key.Id);
        Assert.Equal(("to change", (decimal?)null, (int?)7, (int?)2), (read.Name, read.BudgetUsd, read.RateLimitPerMinute, read.MaxJobsInFlight));
        Assert.Null(read.Models);
    }

    [Theory]
    [InlineData("--budget", "5", "--no-budget")]
    [InlineData("--models", "sandbox", "--no-models")]
    public async Task KeysUpdate_SetAndClearTheSameField_ExitsTwoWithoutCallingTheServer(string set, string value, string clear)
    {
        var key = await fixture.Admin.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "contradiction", BudgetUsd = 1m, Models = ["sandbox"] });

        var result = await RunAsync("keys", "update", key.Id, set, value, clear);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("not both", result.Error, StringComparison.Ordinal);
        var read = await fixture.Admin.GetApiKeyAsync(key.Id);
        Assert.Equal((1m, 1), (read.BudgetUsd, read.Models!.Count));
    }

    [Fact]
    public async Task KeysRevoke_Key_PrintsRevokedAndTheKeyStopsWorking()
    {
        var key = await fixture.Admin.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "doomed" });

        var result = await RunAsync("keys", "revoke", key.Id);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal($"{key.Id}: revoked{Environment.NewLine}", result.Output);
        var ex = await Assert.ThrowsAsync<ReelayApiException>(() => fixture.ClientFor(key.Key!).ListVideosAsync());
        Assert.Equal(401, ex.StatusCode);
    }

    [Fact]
    public async Task KeysShow_Json_PrintsTheApiObject()
    {
        var key = await fixture.Admin.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "as json", BudgetUsd = 0.25m });

        var result = await RunAsync("keys", "show", key.Id, "--json");

        Assert.True(result.ExitCode == 0, result.Error);
        var json = JsonDocument.Parse(result.Output).RootElement;
        Assert.Equal((key.Id, "api_key", 0.25m, key.CreatedAt.ToUnixTimeSeconds()), (json.GetProperty("id").GetString(), json.GetProperty("object").GetString(), json.GetProperty("budget_usd").GetDecimal(), json.GetProperty("created_at").GetInt64()));
    }

    [Fact]
    public async Task Usage_AfterPaidSandboxJob_ShowsTheKeysSpendAndTotals()
    {
        var paid = await fixture.PaidJobAsync();
        var spent = "$" + paid.Charge.ChargedUsd.ToString("0.00####", CultureInfo.InvariantCulture);

        var result = await RunAsync("usage", "--key-id", paid.Key.Id);

        Assert.True(result.ExitCode == 0, result.Error);
        var row = Assert.Single(result.Output.Split('\n'), l => l.Contains(paid.Key.Id, StringComparison.Ordinal));
        Assert.Contains("sandbox", row, StringComparison.Ordinal);
        Assert.Contains(spent, row, StringComparison.Ordinal);
        var total = Assert.Single(result.Output.Split('\n'), l => l.Contains("total", StringComparison.Ordinal));
        Assert.Contains(spent, total, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UsageMine_ClientKey_ShowsItsOwnSpendAndBalance()
    {
        var paid = await fixture.PaidJobAsync();
        var spent = "$" + paid.Charge.ChargedUsd.ToString("0.00####", CultureInfo.InvariantCulture);
        var available = "$" + (1m - paid.Charge.ChargedUsd).ToString("0.00####", CultureInfo.InvariantCulture);

        var result = await CliRunner.RunAsync(["usage", "--mine"], new Dictionary<string, string> { ["REELAY_URL"] = Url, ["REELAY_API_KEY"] = paid.Secret, ["REELAY_ADMIN_KEY"] = AdminKey });

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains(spent, result.Output, StringComparison.Ordinal);
        Assert.Contains($"available {available}", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChargesList_SettledState_ShowsTheJobsSettledCharge()
    {
        var paid = await fixture.PaidJobAsync();

        var result = await RunAsync("charges", "list", "--state", "settled", "--key-id", paid.Key.Id);

        Assert.True(result.ExitCode == 0, result.Error);
        var row = Assert.Single(result.Output.Split('\n'), l => l.Contains(paid.Video.Id, StringComparison.Ordinal));
        Assert.Contains("settled", row, StringComparison.Ordinal);
        Assert.Contains("$" + paid.Charge.ChargedUsd.ToString("0.00####", CultureInfo.InvariantCulture), row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChargesSettle_AlreadySettled_PrintsTheServersConflictAndExitsOne()
    {
        var paid = await fixture.PaidJobAsync();

        var result = await RunAsync("charges", "settle", paid.Video.Id, "--amount", "0.001");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("only unresolved charges are settled or released by hand", result.Error, StringComparison.Ordinal);
        Assert.Contains("(conflict)", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChargesRelease_UnknownJob_PrintsNotFoundAndExitsOne()
    {
        var result = await RunAsync("charges", "release", "video_nope");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("No charge for job 'video_nope' was found. (not_found)", result.Error, StringComparison.Ordinal);
    }

    private Task<CliResult> RunAsync(params string[] args) => CliRunner.RunAsync([.. args, "--url", Url, "--key", AdminKey]);

    [GeneratedRegex(@"^secret: (\S+)\r?$", RegexOptions.Multiline)]
    private static partial Regex SecretLine();
}
