using Microsoft.AspNetCore.Builder;
using Reelay.Cli;
using Reelay.Client;

namespace Reelay.Server.Tests.Cli;

internal sealed record CliResult(int ExitCode, string Output, string Error);

/// <summary>Runs the reelay root command in-process with captured output, a fake environment and a fake HTTP handler.</summary>
internal static class CliRunner
{
    public static async Task<CliResult> RunAsync(
        string[] args,
        IReadOnlyDictionary<string, string>? environment = null,
        HttpMessageHandler? handler = null,
        Action<WebApplicationBuilder>? configureEmbeddedGateway = null,
        List<ReelayClientOptions>? clientOptions = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var context = new CliContext
        {
            Output = output,
            Error = error,
            GetEnvironmentVariable = name => environment?.GetValueOrDefault(name),
            CreateClient = options =>
            {
                clientOptions?.Add(options);
                return handler is null ? new ReelayClient(new HttpClient(), options) : new ReelayClient(new HttpClient(handler, disposeHandler: false), options);
            },
            PollInterval = TimeSpan.FromMilliseconds(1),
            ConfigureEmbeddedGateway = configureEmbeddedGateway,
        };

        var root = ReelayCli.CreateRootCommand(context);
        var exitCode = await ReelayCli.InvokeAsync(root, args, context);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }
}
