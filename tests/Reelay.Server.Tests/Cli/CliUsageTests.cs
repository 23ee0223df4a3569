using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Reelay.Cli;
using Reelay.Cli.Commands;

namespace Reelay.Server.Tests.Cli;

public sealed class CliUsageTests
{
    [Fact]
    public async Task Generate_NoPromptAndNoImage_ExitsTwoWithClearMessage()
    {
        var result = await CliRunner.RunAsync(["generate", "--model", "sandbox"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Give --prompt (text-to-video), --image (image-to-video), or both.", result.Error);
        Assert.Contains("reelay generate --help", result.Error);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public async Task KeysCreate_UnknownOption_HintNamesTheWholeCommandPath()
    {
        var result = await CliRunner.RunAsync(["keys", "create", "--no-such-option"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Run 'reelay keys create --help' for usage.", result.Error);
    }

    [Theory]
    [InlineData("--seconds", "0", "--seconds must be a positive whole number; got '0'.")]
    [InlineData("--seconds", "four", "four")]
    [InlineData("--size", "1280by720", "--size '1280by720' is not WIDTHxHEIGHT")]
    [InlineData("--image", "/no/such/frame.png", "neither an existing file nor an http(s):// or data: URL")]
    [InlineData("--url", "not a url", "--url 'not a url' is not an absolute http or https URL.")]
    public async Task Generate_InvalidOption_ExitsTwoNamingTheProblem(string option, string value, string expected)
    {
        var result = await CliRunner.RunAsync(["generate", "--prompt", "fox", option, value]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Error);
    }

    [Fact]
    public async Task Generate_DataWithRemoteUrl_ExitsTwo()
    {
        var result = await CliRunner.RunAsync(["generate", "--prompt", "fox", "--data", "d"], new Dictionary<string, string> { ["REELAY_URL"] = "http://gw.test/" });

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--data applies only to the in-process gateway", result.Error);
    }

    [Fact]
    public async Task List_UnknownOrder_ExitsTwo()
    {
        var result = await CliRunner.RunAsync(["list", "--order", "sideways"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("sideways", result.Error);
    }

    [Fact]
    public async Task Status_MissingId_ExitsTwo()
    {
        var result = await CliRunner.RunAsync(["status"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("reelay status --help", result.Error);
    }

    [Fact]
    public async Task Root_NoCommand_ExitsTwo()
    {
        var result = await CliRunner.RunAsync([]);

        Assert.Equal(2, result.ExitCode);
    }

    [Fact]
    public async Task Root_Help_ExitsZeroAndListsEveryCommand()
    {
        var result = await CliRunner.RunAsync(["--help"]);

        Assert.Equal(0, result.ExitCode);
        foreach (var command in new[] { "serve", "demo", "generate", "status", "list", "cancel", "download", "models" })
        {
            Assert.Contains(command, result.Output);
        }
    }

    [Fact]
    public void Serve_UnknownOptions_AreForwardedToTheServerBuilder()
    {
        var root = ReelayCli.CreateRootCommand(new CliContext { Output = TextWriter.Null, Error = TextWriter.Null });

        var parse = root.Parse(["serve", "--urls", "http://0.0.0.0:9000", "--environment", "Development", "--Reelay:Store:Provider=sqlite"]);

        Assert.Empty(parse.Errors);
        Assert.Equal(["--urls", "http://0.0.0.0:9000", "--environment", "Development", "--Reelay:Store:Provider=sqlite"], ServeCommand.BuildServerArgs(parse));
    }

    [Fact]
    public void Serve_NoUrlsAnywhere_DefaultsToLoopback8080()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());

        ServeCommand.ConfigureHost(builder, "some/dir");

        Assert.Equal(ServeCommand.DefaultUrls, builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey));
        Assert.Equal("some/dir", builder.Configuration["Reelay:DataDirectory"]);
    }

    [Fact]
    public void Serve_UrlsGivenOnCommandLine_KeepsThem()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = ["--urls", "http://127.0.0.1:9999"] });
        builder.Configuration.AddCommandLine(["--urls", "http://127.0.0.1:9999"]);

        ServeCommand.ConfigureHost(builder, null);

        Assert.Equal("http://127.0.0.1:9999", builder.Configuration[WebHostDefaults.ServerUrlsKey]);
        Assert.NotEqual(ServeCommand.DefaultUrls, builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey));
    }
}
