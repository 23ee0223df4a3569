using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;

namespace Reelay.Server.Tests.Cli;

public sealed class ProvidersCommandTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "reelay-cli-providers-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    [Fact]
    public async Task ProvidersCheck_ValidConfigurationAndProbe_ListsInstancesAndRoutesWithoutTheKey()
    {
        await using var emulator = new ModelVerseEmulator(new EmulatorOptions { ApiKey = "mv-cli-secret-0123456" });
        await emulator.StartAsync();

        var result = await CliRunner.RunAsync(
        [
            "providers", "check", "--probe",
            $"--Reelay:DataDirectory={_data}",
            "--Reelay:Providers:mv:Type=modelverse",
            $"--Reelay:Providers:mv:BaseUrl={emulator.BaseUrl}",
            "--Reelay:Providers:mv:ApiKey=mv-cli-secret-0123456",
            "--Reelay:Routes:sora-2:0:Provider=mv",
        ]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("reachable and the API key was accepted", result.Output, StringComparison.Ordinal);
        Assert.Contains("openai/sora-2/text-to-video", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("mv-cli-secret-0123456", result.Output + result.Error, StringComparison.Ordinal);
        Assert.Contains(emulator.Requests, r => r.AuthorizationForm == "raw:ok");
    }

    [Fact]
    public async Task ProvidersCheck_ProbeWithWrongKey_ExitsOneSayingTheKeyWasRefused()
    {
        await using var emulator = new ModelVerseEmulator(new EmulatorOptions { ApiKey = "right-key-0123456789" });
        await emulator.StartAsync();

        var result = await CliRunner.RunAsync(
        [
            "providers", "check", "--probe",
            $"--Reelay:DataDirectory={_data}",
            "--Reelay:Providers:mv:Type=modelverse",
            $"--Reelay:Providers:mv:BaseUrl={emulator.BaseUrl}",
            "--Reelay:Providers:mv:ApiKey=wrong-key-0123456789",
        ]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("the API key was refused", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProvidersCheck_WithUrlOfARunningGateway_ShowsEachInstancesCircuitThere()
    {
        await using var emulator = new ModelVerseEmulator(new EmulatorOptions { ApiKey = "mv-cli-secret-0123456" });
        await emulator.StartAsync();
        emulator.Faults.Add(FaultScope.Submit, new Fault.ServerError(503), times: 10);
        var settings = new Dictionary<string, string?>
        {
            ["Reelay:Providers:mv:Type"] = "modelverse",
            ["Reelay:Providers:mv:BaseUrl"] = emulator.BaseUrl.AbsoluteUri,
            ["Reelay:Providers:mv:ApiKey"] = "mv-cli-secret-0123456",
            ["Reelay:Providers:mv:Circuit:FailureThreshold"] = "1",
            ["Reelay:Providers:mv:Circuit:BreakDuration"] = "00:10:00",
            ["Reelay:Routes:sora-2:0:Provider"] = "mv",
        };
        await using var server = await Support.ReelayTestServer.StartAsync(settings);
        using (var create = await server.Http.PostAsync("/v1/videos", new StringContent("""{"model":"sora-2","prompt":"a paper boat"}""", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.True(create.IsSuccessStatusCode);
        }

        var until = DateTime.UtcNow.AddSeconds(20);
        while (!(await server.Http.GetStringAsync("/admin/providers")).Contains("\"open\"", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < until, "the circuit never opened");
            await Task.Delay(50);
        }

        var result = await CliRunner.RunAsync(
        [
            "providers", "check", "--url", server.BaseAddress.AbsoluteUri, "--key", server.ApiKey,
            $"--Reelay:DataDirectory={_data}",
            .. settings.Select(s => $"--{s.Key}={s.Value}"),
        ]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("CIRCUIT", result.Output, StringComparison.Ordinal);
        Assert.Contains("OPEN", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("mv-cli-secret-0123456", result.Output + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProvidersCheck_InvalidConfiguration_ExitsOneListingEveryProblem()
    {
        var result = await CliRunner.RunAsync(
        [
            "providers", "check",
            $"--Reelay:DataDirectory={_data}",
            "--Reelay:Providers:mv:Type=modelverze",
            "--Reelay:Routes:sora-2:0:Provider=mv",
        ]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Reelay:Providers:mv:Type 'modelverze' is not a provider type; allowed: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("Reelay:Providers:mv:ApiKey is required", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Emulate_UnknownProvider_UsageErrorListingTheEmulators()
    {
        var result = await CliRunner.RunAsync(["emulate", "runway"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'runway' is not an emulated provider; allowed: modelverse", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_InvalidConfiguration_OneLineListingEveryProblemExitTwo()
    {
        var result = await CliRunner.RunAsync(
        [
            "serve", "--urls", "http://127.0.0.1:0",
            $"--Reelay:DataDirectory={_data}",
            "--Reelay:AdminKey=short",
            "--Reelay:Providers:mv:Type=modelverse",
        ]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("reelay: the configuration is not valid: ", line, StringComparison.Ordinal);
        Assert.Contains("Reelay:AdminKey (or REELAY_ADMIN_KEY) must be at least 16 characters", line, StringComparison.Ordinal);
        Assert.Contains("Reelay:Providers:mv:BaseUrl must be", line, StringComparison.Ordinal);
        Assert.EndsWith("; correct these settings (appsettings.json, Reelay__ environment variables or --Reelay:... options) and start again", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_data));
    }

    [Fact]
    public async Task ProvidersCheck_DataFolderMissing_LeftUncreated()
    {
        var result = await CliRunner.RunAsync(["providers", "check", $"--Reelay:DataDirectory={_data}"]);

        Assert.Equal(0, result.ExitCode);
        Assert.False(Directory.Exists(_data)); // checking a configuration writes nothing, so it never competes with a running gateway
    }

    [Theory]
    [InlineData(500)]
    [InlineData(503)]
    [InlineData(429)]
    public async Task ProvidersCheck_ProbeOfAnUpstreamAnsweringErrorsToEverything_FailsSayingTheKeyWasNotVerified(int status)
    {
        await using var emulator = new ModelVerseEmulator(new EmulatorOptions { ApiKey = "mv-cli-secret-0123456" });
        await emulator.StartAsync();
        emulator.Faults.Add(FaultScope.Any, status == 429 ? new Fault.RateLimited(TimeSpan.FromSeconds(1)) : new Fault.ServerError(status), 10);

        var result = await CliRunner.RunAsync(
        [
            "providers", "check", "--probe",
            $"--Reelay:DataDirectory={_data}",
            "--Reelay:Providers:mv:Type=modelverse",
            $"--Reelay:Providers:mv:BaseUrl={emulator.BaseUrl}",
            "--Reelay:Providers:mv:ApiKey=mv-cli-secret-0123456",
        ]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("FAILED", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("accepted", result.Output + result.Error, StringComparison.Ordinal);
        var line = Assert.Single(result.Error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: mv: ", line, StringComparison.Ordinal);
        Assert.Contains($"HTTP {status}", line, StringComparison.Ordinal);
        Assert.EndsWith(status == 429 ? "the API key was not verified, try again later" : "the API key was not verified", line, StringComparison.Ordinal);
    }
}
