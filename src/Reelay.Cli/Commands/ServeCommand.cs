using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Reelay.Cli.Infrastructure;
using Reelay.Server;

namespace Reelay.Cli.Commands;

/// <summary><c>reelay serve</c>: runs the gateway in the foreground.</summary>
internal static class ServeCommand
{
    public const string Name = "serve";
    public const string DefaultUrls = "http://127.0.0.1:8080";
    private const string UrlsOption = "--urls";

    public static Command Create(CliContext context)
    {
        var urls = new Option<string?>(UrlsOption)
        {
            Description = $"Addresses to listen on, separated by ';' (default: {DefaultUrls}, unless configured by ASPNETCORE_URLS or appsettings.json).",
            HelpName = "URLS",
        };
        var data = new Option<string?>("--data")
        {
            Description = "Data directory for the database, results and the generated admin key (Reelay:DataDirectory; default: data).",
            HelpName = "DIR",
        };
        var command = new Command(Name, "Run the gateway. Other options (e.g. --environment, --Reelay:Store:Provider=sqlite) go to the ASP.NET host.")
        {
            urls,
            data,
        };

        // ASP.NET host options the CLI does not know pass through to the server builder.
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var dataDirectory = parseResult.GetValue(data);
            WebApplication app;
            try
            {
                app = ReelayServer.Build(BuildServerArgs(parseResult), builder =>
                {
                    ConfigureHost(builder, dataDirectory);
                    StartupFailures.QuietHostStartFailure(builder);
                });
            }
            catch (Exception ex) when (StartupFailures.Describe(ex, InUseHint) is not null)
            {
                return await StartupFailures.ReportAsync(context, ex, InUseHint).ConfigureAwait(false);
            }

            var started = false;
            await using (app.ConfigureAwait(false))
            {
                try
                {
                    // Settings, the data folder's lock and the admin key first: a failure there is one line, and nothing started.
                    ReelayServer.Preflight(app);
                    // The address file before the ready line, so that whoever waits for that line finds the file.
                    var address = new GatewayAddressFile(app.Services.GetRequiredService<ReelayOptions>().DataPath);
                    app.Lifetime.ApplicationStopping.Register(address.Delete);
                    ReelayServer.AnnounceWhenReady(app, before: () =>
                    {
                        started = true;
                        StartupFailures.HostStarted(app);
                        address.Write(ReelayServer.BoundAddress(app));
                    });
                    ReelayServer.DrainOnStop(app);
                    await ((IHost)app).RunAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!started && ex is not OperationCanceledException)
                {
                    // A start that failed in a known way (a setting, the data folder, the address) is the operator's to fix:
                    // one line that says what and how, not a stack trace.
                    return await StartupFailures.ReportAsync(context, ex, InUseHint).ConfigureAwait(false);
                }
            }

            return ReelayCli.ExitOk;
        });
        return command;
    }

    /// <summary>How to get past a data folder that another process owns.</summary>
    internal const string InUseHint = "stop that process (only one may use a data folder), or start this one with another folder: --data DIR (or Reelay:DataDirectory)";

    /// <summary>The args for <see cref="ReelayServer.Build"/>: --urls if given, then everything the CLI did not recognise.</summary>
    internal static string[] BuildServerArgs(ParseResult parseResult)
    {
        var args = new List<string>();
        if (parseResult.GetValue<string?>(UrlsOption) is { } value)
        {
            args.Add("--urls");
            args.Add(value);
        }

        args.AddRange(parseResult.UnmatchedTokens);
        return [.. args];
    }

    /// <summary>Applies --data, and the default address when nothing else names one.</summary>
    internal static void ConfigureHost(WebApplicationBuilder builder, string? dataDirectory)
    {
        if (dataDirectory is not null)
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [$"{ReelayOptions.Section}:{nameof(ReelayOptions.DataDirectory)}"] = dataDirectory,
            });
        }

        if (!HasConfiguredEndpoints(builder.Configuration))
        {
            builder.WebHost.UseUrls(DefaultUrls);
        }
    }

    internal static bool HasConfiguredEndpoints(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[WebHostDefaults.ServerUrlsKey])
        || !string.IsNullOrWhiteSpace(configuration[WebHostDefaults.HttpPortsKey])
        || !string.IsNullOrWhiteSpace(configuration[WebHostDefaults.HttpsPortsKey])
        || configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();
}
