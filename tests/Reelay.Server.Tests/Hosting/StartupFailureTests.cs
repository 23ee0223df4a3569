using System.Net;
using System.Net.Sockets;

namespace Reelay.Server.Tests.Hosting;

/// <summary>`reelay serve` as a real process that cannot start: one line on stderr that says what and how, no stack trace, a non-zero exit.</summary>
public sealed class StartupFailureTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("reelay-startup-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string Data => Path.Combine(_directory.FullName, "data");

    private static void AssertOneLine(ReelayProcess.Exit exit, int code, string what, string fix)
    {
        var line = Assert.Single(exit.ErrorLines);
        Assert.True(exit.Code == code, $"exit {exit.Code}: {exit.Error}{exit.Output}");
        Assert.StartsWith("reelay: ", line, StringComparison.Ordinal);
        Assert.Contains(what, line, StringComparison.Ordinal);
        Assert.Contains("; ", line, StringComparison.Ordinal);
        Assert.Contains(fix, line[line.IndexOf("; ", StringComparison.Ordinal)..], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", exit.Output + exit.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", exit.Output + exit.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Reelay is ready", exit.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_PortInUse_OneLineNamingTheAddressExitOne()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";

        var exit = await ReelayProcess.RunAsync(["serve", "--urls", url, "--data", Data]);

        AssertOneLine(exit, 1, $"cannot listen on {url}: it is already in use", "--urls");
    }

    [Fact]
    public async Task Serve_DataFolderIsAFile_OneLineExitTwo()
    {
        var file = Path.Combine(_directory.FullName, "data.txt");
        await File.WriteAllTextAsync(file, "not a folder");

        var exit = await ReelayProcess.RunAsync(["serve", "--urls", "http://127.0.0.1:0", "--data", file]);

        AssertOneLine(exit, 2, $"the data folder {file} cannot be created (a file of that name is in the way)", "--data DIR");
    }

    [Fact]
    public async Task Serve_DataFolderNotWritable_OneLineExitOne()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // sysfs refuses mkdir even to root.
        var exit = await ReelayProcess.RunAsync(["serve", "--urls", "http://127.0.0.1:0", "--data", "/sys/reelay-test-data"]);

        AssertOneLine(exit, 1, "the data folder /sys/reelay-test-data cannot be created (permission denied)", "choose a folder this user can write with --data DIR");
    }

    [Fact]
    public async Task Serve_UnknownSetting_OneLineNamingItExitTwo()
    {
        var exit = await ReelayProcess.RunAsync(["serve", "--urls", "http://127.0.0.1:0", "--data", Data, "--Reelay:Sandbox:Fpss=30"]);

        AssertOneLine(exit, 2, "the configuration is not valid: Reelay:Sandbox:Fpss is not a known setting", "correct the setting");
        Assert.False(Directory.Exists(Data)); // nothing was created for a start that could not happen
    }

    [Theory]
    [InlineData("Reelay:Sandbox:Fps", "a whole number")] // bound when the options are read
    [InlineData("Reelay:Limits:MaxRequestBodyBytes", "a whole number")] // read while the host is built
    [InlineData("Reelay:JobDeadline", "a duration such as 00:00:30")]
    public async Task Serve_SettingOfTheWrongType_OneLineNamingItExitTwo(string key, string expected)
    {
        var exit = await ReelayProcess.RunAsync(["serve", "--urls", "http://127.0.0.1:0", "--data", Data, $"--{key}=abc"]);

        AssertOneLine(exit, 2, $"the configuration is not valid: {key} is 'abc', which is not {expected}", "correct the setting");
    }

    [Fact]
    public async Task Serve_AdminKeyTooShort_OneLineExitTwo()
    {
        var exit = await ReelayProcess.RunAsync(["serve", "--urls", "http://127.0.0.1:0", "--data", Data], new Dictionary<string, string> { ["REELAY_ADMIN_KEY"] = "short" });

        AssertOneLine(exit, 2, "Reelay:AdminKey (or REELAY_ADMIN_KEY) must be at least 16 characters", "correct the setting");
    }

    [Fact]
    public async Task Serve_InvalidListenAddress_OneLineExitTwo()
    {
        var exit = await ReelayProcess.RunAsync(["serve", "--urls", "not-a-url", "--data", Data]);

        AssertOneLine(exit, 2, "the listen address is not valid", "--urls http://127.0.0.1:8080");
    }

    [Fact]
    public async Task Serve_DamagedAdminKeyHashFile_OneLineSayingToDeleteItExitOne()
    {
        Directory.CreateDirectory(Data);
        await File.WriteAllTextAsync(Path.Combine(Data, Auth.AdminKey.HashFileName), "damaged");

        var exit = await ReelayProcess.RunAsync(["serve", "--urls", "http://127.0.0.1:0", "--data", Data], new Dictionary<string, string> { ["REELAY_ADMIN_KEY"] = "" });

        AssertOneLine(exit, 1, "the admin key hash file", "delete it and start again");
    }
}
