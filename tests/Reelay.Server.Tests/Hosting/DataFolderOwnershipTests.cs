using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Client;
using Reelay.Server.Tests.Cli;
using Reelay.Server.Tests.Client;
using Reelay.Server.Tests.Support;
using Reelay.Storage;

namespace Reelay.Server.Tests.Hosting;

/// <summary>One process owns a data folder: a second `reelay serve`, generate or demo on it is refused with one line.</summary>
public sealed class DataFolderOwnershipTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("reelay-owner-");

    public void Dispose() => ReelayTestServer.TryDeleteDirectory(_directory.FullName);

    private string Data => Path.Combine(_directory.FullName, "data");

    [Fact]
    public async Task Serve_SecondProcessOnAFolderInUse_RefusedWithOneLineAndTheFirstKeepsServing()
    {
        var key = "rk_test_" + Guid.NewGuid().ToString("N");
        await using var first = await CrashRecoveryTests.ServeProcess.StartAsync(Data, key);

        var second = await ReelayProcess.RunAsync(["serve", "--urls", "http://127.0.0.1:0", "--data", Data]);

        Assert.Equal(1, second.Code);
        var line = Assert.Single(second.ErrorLines);
        Assert.Equal($"reelay: the data folder {Data} is in use by another Reelay process; stop that process (only one may use a data folder), or start this one with another folder: --data DIR (or Reelay:DataDirectory)", line);
        Assert.DoesNotContain("   at ", second.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Reelay is ready", second.Output, StringComparison.Ordinal);
        using var health = await first.Http.GetAsync("/healthz");
        Assert.True(health.IsSuccessStatusCode);
    }

    [Fact]
    public async Task Serve_FirstProcessKilled_TheLockDiesWithItAndTheFolderCanBeServedAgain()
    {
        var key = "rk_test_" + Guid.NewGuid().ToString("N");
        await using (var first = await CrashRecoveryTests.ServeProcess.StartAsync(Data, key))
        {
            first.Crash();
        }

        await using var again = await CrashRecoveryTests.ServeProcess.StartAsync(Data, key);
        using var health = await again.Http.GetAsync("/healthz");
        Assert.True(health.IsSuccessStatusCode);
    }

    [Fact]
    public async Task Generate_DataFolderOfARunningGateway_RefusedWithOneLineExitOne()
    {
        await using var server = await ReelayTestServer.StartAsync(dataDirectory: Data);

        var result = await CliRunner.RunAsync(["generate", "--prompt", "a lighthouse", "--data", Data]);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"reelay: the data folder {Data} is in use by another Reelay process; stop that process, use its gateway instead with --url URL (and --key), or give this command another folder with --data DIR{Environment.NewLine}", result.Error);
    }

    [Fact]
    public async Task Demo_DataFolderOfARunningGateway_RefusedWithOneLineExitOne()
    {
        await using var server = await ReelayTestServer.StartAsync(dataDirectory: Data);

        var result = await CliRunner.RunAsync(["demo", "--data", Data]);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"reelay: the data folder {Data} is in use by another Reelay process; ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_SecondInProcessOnTheSameFolder_RefusedBeforeOpeningAnything()
    {
        await using var first = await ReelayTestServer.StartAsync(dataDirectory: Data);

        var ex = await Assert.ThrowsAsync<DataFolderException>(() => ReelayTestServer.StartAsync(dataDirectory: Data));

        Assert.Equal(DataFolderProblem.InUse, ex.Problem);
        using var health = await first.Http.GetAsync("/healthz");
        Assert.True(health.IsSuccessStatusCode);
    }

    [Fact]
    public async Task Generate_NoUrlWhileServeOwnsTheConfiguredFolder_UsesThatServe()
    {
        var key = "rk_test_" + Guid.NewGuid().ToString("N");
        await using var serve = await CrashRecoveryTests.ServeProcess.StartAsync(Data, key);
        var output = Path.Combine(_directory.FullName, "out.mp4");
        var clients = new List<ReelayClientOptions>();

        var result = await CliRunner.RunAsync(
            ["generate", "--prompt", "a lighthouse", "--seconds", "1", "--size", "320x240", "--output", output],
            new Dictionary<string, string> { ["Reelay__DataDirectory"] = Data, ["REELAY_ADMIN_KEY"] = key },
            clientOptions: clients);

        Assert.True(result.ExitCode == 0, result.Error);
        var used = Assert.Single(clients);
        Assert.Equal(serve.Http.BaseAddress, used.BaseAddress);
        Assert.Contains($"gateway: {serve.Http.BaseAddress}", result.Error, StringComparison.Ordinal);
        Assert.True(new FileInfo(output).Length > 1000);
        var listed = await serve.Http.GetStringAsync("/v1/videos");
        Assert.Contains("a lighthouse", listed, StringComparison.Ordinal); // the job is in the server's own store
    }

    [Fact]
    public async Task Generate_NoUrlAndNoKeyWhileTheConfiguredFolderIsInUse_PrivateFolderDeletedAfterwards()
    {
        await using var server = await ReelayTestServer.StartAsync(dataDirectory: Data);
        var api = new FakeReelayApi();
        string? usedData = null;

        var result = await CliRunner.RunAsync(
            ["generate", "--prompt", "a lighthouse", "--output", Path.Combine(_directory.FullName, "private.mp4")],
            new Dictionary<string, string> { ["Reelay__DataDirectory"] = Data },
            configureEmbeddedGateway: builder =>
            {
                usedData = builder.Configuration["Reelay:DataDirectory"];
                builder.Services.AddSingleton<IStartupFilter>(new FakeApiStartupFilter(api));
            });

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.NotNull(usedData);
        Assert.NotEqual(Data, usedData);
        Assert.StartsWith(Path.Combine(Path.GetTempPath(), "reelay-generate-"), usedData, StringComparison.Ordinal);
        Assert.False(Directory.Exists(usedData));
    }
}
