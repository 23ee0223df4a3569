using Reelay.Emulators.DashScope;
using Reelay.Emulators.Fal;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.Kling;
using Reelay.Emulators.Seedance;
using Reelay.Emulators.Veo;
using Reelay.Server.Tests.Providers.Kling;

namespace Reelay.Server.Tests.Cli;

/// <summary>
/// `reelay providers check --probe` for the types added for issue 14, each against its EMULATOR (loopback): the right
/// key is reported accepted, a wrong one fails the command with a reason that names no key, and no job is started.
/// </summary>
public sealed class ProvidersProbeTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "reelay-cli-probe-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    [Theory]
    [InlineData("seedance")]
    [InlineData("kling")]
    [InlineData("veo")]
    [InlineData("fal")]
    [InlineData("dashscope")]
    public async Task ProvidersCheckProbe_RightKey_ExitsZeroSayingTheKeyWasAccepted(string type)
    {
        var (right, _) = Keys(type);
        await using var emulator = Emulator(type, right);
        await emulator.StartAsync();

        var result = await CheckAsync(type, emulator, right);

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Contains("reachable and the API key was accepted", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(right, result.Output + result.Error, StringComparison.Ordinal);
        Assert.Empty(emulator.Tasks.All);
    }

    [Theory]
    [InlineData("seedance", "the API key was refused")]
    [InlineData("kling", "the API key was refused")]
    [InlineData("veo", "API_KEY_INVALID")]
    [InlineData("fal", "the API key was refused")]
    [InlineData("dashscope", "the API key was refused")]
    public async Task ProvidersCheckProbe_WrongKey_ExitsOneWithTheReasonAndNoKey(string type, string reason)
    {
        var (right, wrong) = Keys(type);
        await using var emulator = Emulator(type, right);
        await emulator.StartAsync();

        var result = await CheckAsync(type, emulator, wrong);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(reason, result.Output + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, result.Output + result.Error, StringComparison.Ordinal);
        Assert.True(emulator.RequestCount > 0, "the probe did not reach the emulator");
        Assert.Empty(emulator.Tasks.All);
    }

    private static (string Right, string Wrong) Keys(string type) => type == "kling"
        ? (KlingProviderTests.Key, "ak-someone-else:" + new string('w', 32))
        : ($"{type}-right-key-0123456789", $"{type}-wrong-key-0123456789");

    private static UpstreamEmulator Emulator(string type, string key)
    {
        var options = new EmulatorOptions { ApiKey = key };
        return type switch
        {
            "seedance" => new SeedanceEmulator(options),
            "kling" => new KlingEmulator(options),
            "veo" => new VeoEmulator(options),
            "fal" => new FalEmulator(options),
            _ => new DashScopeEmulator(options),
        };
    }

    private Task<CliResult> CheckAsync(string type, UpstreamEmulator emulator, string key) => CliRunner.RunAsync(
    [
        "providers", "check", "--probe",
        $"--Reelay:DataDirectory={_data}",
        $"--Reelay:Providers:up:Type={type}",
        $"--Reelay:Providers:up:BaseUrl={emulator.ApiBaseUrl.AbsoluteUri}",
        $"--Reelay:Providers:up:ApiKey={key}",
    ]);
}
