using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Packaging;

/// <summary>
/// Issue 16 item 7: the `reelay` tool package (packed from the Release build, installed from a local source into a temp tool
/// path, run) and the self-contained single-file build of scripts/publish.sh. Both run real dotnet commands: the tool test
/// takes some seconds, the single-file one (a full build for linux-x64) up to a few minutes on a loaded machine.
/// </summary>
public sealed class PackagingTests
{
    /// <summary>The tool package stays well under the 38 MB it was with every runtime's SQLite library.</summary>
    private const long MaxToolPackageBytes = 20L * 1024 * 1024;

    private static readonly string Root = FindRoot();

    public static TheoryData<string> CommandPaths()
    {
        var data = new TheoryData<string> { "" };
        var root = Reelay.Cli.ReelayCli.CreateRootCommand(new Reelay.Cli.CliContext { Output = TextWriter.Null, Error = TextWriter.Null });
        foreach (var command in root.Subcommands)
        {
            data.Add(command.Name);
            foreach (var sub in command.Subcommands)
            {
                data.Add(command.Name + " " + sub.Name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public async Task Help_EveryCommand_UsageLineSaysReelay(string path)
    {
        var result = await Cli.CliRunner.RunAsync([.. path.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"]);

        Assert.Equal(0, result.ExitCode);
        var lines = result.Output.Split('\n');
        var usage = Array.FindIndex(lines, l => l.TrimEnd() == "Usage:");
        Assert.True(usage >= 0, result.Output);
        Assert.StartsWith($"  reelay {path}".TrimEnd(), lines[usage + 1], StringComparison.Ordinal);
        Assert.DoesNotContain("testhost", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToolPackage_InstalledFromLocalSource_RunsHelpAndVersionAsReelay()
    {
        var scratch = Path.Combine(Path.GetTempPath(), "reelay-pack-" + Guid.NewGuid().ToString("N"));
        try
        {
            var packages = Path.Combine(scratch, "packages");
            var pack = await RunAsync("dotnet", ["pack", Path.Combine(Root, "src/Reelay.Cli/Reelay.Cli.csproj"), "-c", "Release", "--no-build", "-nologo", "-o", packages]);
            Assert.True(pack.Code == 0, pack.Output);
            var package = Assert.Single(Directory.GetFiles(packages, "Reelay.Cli.*.nupkg"));
            var version = Path.GetFileNameWithoutExtension(package)["Reelay.Cli.".Length..];
            Assert.True(new FileInfo(package).Length < MaxToolPackageBytes, $"the tool package is {new FileInfo(package).Length:N0} bytes");

            using (var zip = ZipFile.OpenRead(package))
            {
                var names = zip.Entries.Select(e => e.FullName).ToList();
                var runtimes = names.Where(n => n.Contains("/runtimes/", StringComparison.Ordinal)).Select(n => n.Split("/runtimes/")[1].Split('/')[0]).Distinct().Order(StringComparer.Ordinal).ToList();
                Assert.Equal(["linux-arm64", "linux-musl-arm64", "linux-musl-x64", "linux-x64", "osx-arm64", "osx-x64", "win-arm64", "win-x64"], runtimes);
                Assert.Contains("README.md", names);
                Assert.Contains("LICENSE", names);
                using var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
                var metadata = XDocument.Load(nuspec).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
                string? Value(string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
                Assert.Equal(version, Value("version"));
                Assert.Equal("MIT", Value("license"));
                Assert.Equal("README.md", Value("readme"));
                Assert.StartsWith("https://", metadata.Elements().Single(e => e.Name.LocalName == "repository").Attribute("url")?.Value, StringComparison.Ordinal);
            }

            var tools = Path.Combine(scratch, "tools");
            var install = await RunAsync("dotnet", ["tool", "install", "Reelay.Cli", "--version", version, "--tool-path", tools, "--add-source", packages, "--ignore-failed-sources"]);
            Assert.True(install.Code == 0, install.Output);
            var reelay = Path.Combine(tools, "reelay");

            var versionRun = await RunAsync(reelay, ["--version"]);
            var help = await RunAsync(reelay, ["--help"]);
            var subHelp = await RunAsync(reelay, ["keys", "create", "--help"]);

            Assert.Equal(0, versionRun.Code);
            Assert.StartsWith(version, versionRun.Output.Trim(), StringComparison.Ordinal);
            Assert.Equal(0, help.Code);
            Assert.Contains("reelay [command] [options]", help.Output, StringComparison.Ordinal);
            Assert.Equal(0, subHelp.Code);
            Assert.Contains("reelay keys create [options]", subHelp.Output, StringComparison.Ordinal);
            foreach (var output in new[] { help.Output, subHelp.Output })
            {
                Assert.DoesNotContain("Reelay.Cli", output, StringComparison.Ordinal);
            }
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(scratch);
        }
    }

    /// <summary>A full self-contained build for linux-x64: minutes on two cores, so it runs only with REELAY_SLOW_TESTS=1.</summary>
    [SlowFact]
    public async Task PublishScript_SingleFileLinuxX64_BinaryRunsVersion()
    {
        var scratch = Path.Combine(Path.GetTempPath(), "reelay-single-" + Guid.NewGuid().ToString("N"));
        try
        {
            var publish = await RunAsync(Path.Combine(Root, "scripts/publish.sh"), ["--parts", "single-file", "--out", scratch, "--check"], TimeSpan.FromMinutes(8));

            Assert.True(publish.Code == 0, publish.Output);
            var binary = Path.Combine(scratch, "linux-x64", "reelay");
            Assert.True(File.Exists(binary));
            Assert.Single(Directory.GetFiles(Path.Combine(scratch, "linux-x64")));
            var version = await RunAsync(binary, ["--version"]);
            Assert.Equal(0, version.Code);
            Assert.Matches(@"^\d+\.\d+\.\d+", version.Output.Trim());
            var help = await RunAsync(binary, ["--help"]);
            Assert.Contains("reelay [command] [options]", help.Output, StringComparison.Ordinal);
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(scratch);
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Reelay.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Reelay.slnx) was not found above " + AppContext.BaseDirectory);
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Root };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish: {await output}{await error}");
        }

        return (process.ExitCode, await output + await error);
    }
}

/// <summary>A test that takes minutes: skipped (and reported as skipped) unless REELAY_SLOW_TESTS=1.</summary>
public sealed class SlowFactAttribute : FactAttribute
{
    public SlowFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("REELAY_SLOW_TESTS") != "1")
        {
            Skip = "Slow (a full build): set REELAY_SLOW_TESTS=1 to run it; scripts/publish.sh --check runs the same check.";
        }
    }
}
