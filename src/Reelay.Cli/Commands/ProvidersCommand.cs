using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reelay.Cli.Infrastructure;
using Reelay.Providers;
using Reelay.Server;
using Spectre.Console;

namespace Reelay.Cli.Commands;

/// <summary><c>reelay providers check</c>: validates Reelay:Providers and Reelay:Routes as serve would read them, and optionally probes each instance.</summary>
internal static class ProvidersCommand
{
    public static Command Create(CliContext context)
    {
        var probe = new Option<bool>("--probe") { Description = "Also call each instance once (an authenticated read of an unknown task) to check it is reachable and accepts its key." };
        var connection = AdminOptions.Connection(context);
        var check = new Command("check", "Validate the provider configuration (appsettings.json, Reelay__ environment variables, --Reelay:... options) and show the routes. Exit 1 on any problem. With --url, also show each instance's circuit on that running gateway (GET /admin/providers, admin key).")
        {
            probe,
        };
        connection.AddTo(check);
        check.TreatUnmatchedTokensAsErrors = false;
        check.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var app = ReelayServer.Build([.. parseResult.UnmatchedTokens], _ => { });
            await using (app.ConfigureAwait(false))
            {
                ReelayOptions options;
                try
                {
                    options = app.Services.GetRequiredService<IOptions<ReelayOptions>>().Value;
                }
                catch (OptionsValidationException ex)
                {
                    await context.Error.WriteLineAsync("The configuration is not valid:").ConfigureAwait(false);
                    foreach (var failure in ex.Failures)
                    {
                        await context.Error.WriteLineAsync("  - " + failure).ConfigureAwait(false);
                    }

                    return ReelayCli.ExitFailure;
                }

                var registry = app.Services.GetRequiredService<ProviderRegistry>();

                // Circuits live in a running gateway (per node); without --url, show each instance's circuit settings.
                IReadOnlyDictionary<string, Reelay.Client.Admin.ProviderStatus>? live = null;
                if (parseResult.GetValue(connection.Url) is not null)
                {
                    var client = connection.CreateClient(parseResult);
                    live = (await client.ListProvidersAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(p => p.Name, StringComparer.Ordinal);
                }

                var instances = new Table().Border(TableBorder.Rounded).AddColumns(live is null
                    ? new[] { "INSTANCE", "TYPE", "BASE URL", "KEY", "JOBS", "REQ/S", "STATUS" }
                    : new[] { "INSTANCE", "TYPE", "BASE URL", "KEY", "JOBS", "REQ/S", "CIRCUIT", "STATUS" });
                var failures = new List<string>();
                foreach (var provider in registry.Providers)
                {
                    var configured = options.Providers.GetValueOrDefault(provider.Name);
                    var status = "configured";
                    if (parseResult.GetValue(probe))
                    {
                        var result = await provider.ProbeAsync(cancellationToken).ConfigureAwait(false);
                        if (!result.Ok)
                        {
                            failures.Add($"error: {provider.Name}: {result.Detail}");
                        }

                        status = (result.Ok ? "ok: " : "FAILED: ") + result.Detail;
                    }

                    var cells = new List<Spectre.Console.Rendering.IRenderable>
                    {
                        VideoTables.Cell(provider.Name),
                        VideoTables.Cell(configured?.Type ?? "sandbox"),
                        VideoTables.Cell(configured?.BaseUrl ?? "(local ffmpeg)"),
                        VideoTables.Cell(configured is null ? "-" : "set (hidden)"),
                        VideoTables.Cell(provider.MaxConcurrentJobs.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                        VideoTables.Cell(configured is null ? "-" : configured.MaxRequestsPerSecond == 0 ? "no limit" : configured.MaxRequestsPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    };
                    if (live is not null)
                    {
                        cells.Add(VideoTables.Cell(CircuitCell(live.GetValueOrDefault(provider.Name))));
                    }

                    cells.Add(VideoTables.Cell(status));
                    instances.AddRow(cells.ToArray());
                }

                foreach (var (name, p) in options.Providers.Where(p => !p.Value.Enabled))
                {
                    var cells = new List<Spectre.Console.Rendering.IRenderable> { VideoTables.Cell(name), VideoTables.Cell(p.Type), VideoTables.Cell(p.BaseUrl), VideoTables.Cell("set (hidden)"), VideoTables.Cell("-"), VideoTables.Cell("-") };
                    if (live is not null)
                    {
                        cells.Add(VideoTables.Cell("-"));
                    }

                    cells.Add(VideoTables.Cell("disabled"));
                    instances.AddRow(cells.ToArray());
                }

                context.OutConsole.Write(instances);
                var routes = new Table().Border(TableBorder.Rounded).AddColumns("MODEL", "ORDER", "INSTANCE", "TEXT-TO-VIDEO MODEL", "IMAGE-TO-VIDEO MODEL", "WEIGHT");
                foreach (var (model, deployments) in registry.Routes.OrderBy(r => r.Key, StringComparer.Ordinal))
                {
                    for (var i = 0; i < deployments.Count; i++)
                    {
                        var d = deployments[i];
                        routes.AddRow(VideoTables.Cell(model), VideoTables.Cell((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)), VideoTables.Cell(d.Provider), VideoTables.Cell(d.TextModel ?? "-"), VideoTables.Cell(d.ImageModel ?? "-"), VideoTables.Cell(d.Weight.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                    }
                }

                if (registry.Routes.Count == 0)
                {
                    await context.Output.WriteLineAsync("No routes: only the sandbox model is served" + (options.Sandbox.StandInFor.Count > 0 ? $", and the sandbox stands in for {string.Join(", ", options.Sandbox.StandInFor)}." : ".")).ConfigureAwait(false);
                }
                else
                {
                    context.OutConsole.Write(routes);
                }

                // Each failure whole on stderr too: the table may wrap a long reason over several lines.
                foreach (var failure in failures)
                {
                    await context.Error.WriteLineAsync(failure).ConfigureAwait(false);
                }

                return failures.Count > 0 ? ReelayCli.ExitFailure : ReelayCli.ExitOk;
            }
        });
        return new Command("providers", "Inspect the configured upstream providers.") { check };
    }

    /// <summary>An instance's circuit on the running gateway (GET /admin/providers).</summary>
    private static string CircuitCell(Reelay.Client.Admin.ProviderStatus? live) => live?.Circuit switch
    {
        null => live is null ? "not on that gateway" : "-",
        { State: "open" } c => $"OPEN until {DateTimeOffset.FromUnixTimeSeconds(c.OpenUntil ?? 0):HH:mm:ss}Z ({c.ConsecutiveFailures} failures in a row)",
        { State: "half_open" } => "half-open (next submit is a trial)",
        { } c => $"closed ({c.ConsecutiveFailures} failures in a row)",
    };
}
