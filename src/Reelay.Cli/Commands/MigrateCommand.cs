using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reelay.Cli.Infrastructure;
using Reelay.Server;
using Reelay.Storage;
using Reelay.Storage.Postgres;
using Reelay.Storage.Sqlite;

namespace Reelay.Cli.Commands;

/// <summary>
/// <c>reelay migrate</c>: brings the configured store's schema (Reelay:Store) to this build's version and prints it,
/// without starting a gateway. Serve does the same at start; this lets an operator do it first, once, for several nodes.
/// </summary>
internal static class MigrateCommand
{
    public const string Name = "migrate";

    public static Command Create(CliContext context)
    {
        var data = new Option<string?>("--data")
        {
            Description = "Data directory (Reelay:DataDirectory; default: data); holds the SQLite database when the store is sqlite.",
            HelpName = "DIR",
        };
        var command = new Command(Name, "Apply the store's schema migrations (Reelay:Store:Provider, Reelay:Store:ConnectionString) and print the schema version. Other options (e.g. --Reelay:Store:Provider=postgres) go to the configuration.")
        {
            data,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            WebApplication app;
            try
            {
                app = ReelayServer.Build([.. parseResult.UnmatchedTokens], builder =>
                {
                    ServeCommand.ConfigureHost(builder, parseResult.GetValue(data));
                    StartupFailures.QuietHostStartFailure(builder);
                });
            }
            catch (Exception ex) when (StartupFailures.Describe(ex, ServeCommand.InUseHint) is not null)
            {
                return await StartupFailures.ReportAsync(context, ex, ServeCommand.InUseHint).ConfigureAwait(false);
            }

            await using (app.ConfigureAwait(false))
            {
                try
                {
                    var options = app.Services.GetRequiredService<IOptions<ReelayOptions>>().Value;
                    int version;
                    string where;
                    if (options.Store.IsPostgres)
                    {
                        var store = app.Services.GetRequiredService<PostgresJobStore>();
                        version = await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
                        where = $"postgres {store.Target}";
                    }
                    else
                    {
                        // The SQLite file belongs to one process: this takes the data folder's lock like serve does.
                        var store = app.Services.GetRequiredService<SqliteJobStore>();
                        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
                        version = SqliteJobStore.LatestSchemaVersion;
                        where = $"sqlite {new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(options.Store.ConnectionString ?? SqliteJobStore.DefaultConnectionString(options.DataPath)).DataSource}";
                    }

                    await context.Output.WriteLineAsync($"schema version {version} ({where})").ConfigureAwait(false);
                    return ReelayCli.ExitOk;
                }
                catch (Exception ex) when (ex is not OperationCanceledException && StartupFailures.Describe(ex, ServeCommand.InUseHint) is not null)
                {
                    return await StartupFailures.ReportAsync(context, ex, ServeCommand.InUseHint).ConfigureAwait(false);
                }
            }
        });
        return command;
    }
}
