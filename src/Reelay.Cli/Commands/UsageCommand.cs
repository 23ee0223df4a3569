using System.CommandLine;
using Reelay.Cli.Infrastructure;
using Reelay.Client.Admin;

namespace Reelay.Cli.Commands;

/// <summary><c>reelay usage</c>: jobs, seconds and spend per key and model, with totals.</summary>
internal static class UsageCommand
{
    public static Command Create(CliContext context)
    {
        var key = new Option<string?>("--key-id") { Description = "Only this key's usage (its id).", HelpName = "ID" };
        var since = new Option<DateTimeOffset?>("--since") { Description = "From this time: ISO 8601, unix seconds, or ago such as 7d, 12h.", HelpName = "TIME", CustomParser = AdminOptions.PastTime };
        var until = new Option<DateTimeOffset?>("--until") { Description = "Up to this time (same forms as --since).", HelpName = "TIME", CustomParser = AdminOptions.PastTime };
        var mine = new Option<bool>("--mine") { Description = "The calling key's own usage and balance (works with a client key; default key $REELAY_API_KEY)." };
        var json = AdminOptions.Json();
        var connection = AdminOptions.Connection(context);
        var command = new Command("usage", "Show usage and spend per key and model, with totals (needs an admin key unless --mine).") { key, since, until, mine, json };
        connection.AddTo(command);
        command.SetAdminHandler(context, async (parseResult, cancellationToken) =>
        {
            var own = parseResult.GetValue(mine);
            if (own && parseResult.GetValue(key) is not null)
            {
                throw new UsageException("give --key-id or --mine, not both.");
            }

            var client = connection.CreateClient(
                connection.ResolveUrlOrNull(parseResult) ?? Reelay.Client.ReelayClientOptions.DefaultBaseAddress,
                connection.ResolveKey(parseResult, preferAdminKey: !own));
            var report = own
                ? await client.GetOwnUsageAsync(parseResult.GetValue(since), parseResult.GetValue(until), cancellationToken).ConfigureAwait(false)
                : await client.GetUsageAsync(parseResult.GetValue(key), parseResult.GetValue(since), parseResult.GetValue(until), cancellationToken).ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                await AdminOptions.WriteJsonAsync(context, report, AdminCliJsonContext.Default.UsageReport).ConfigureAwait(false);
                return ReelayCli.ExitOk;
            }

            await WriteReportAsync(context, report).ConfigureAwait(false);
            return ReelayCli.ExitOk;
        });
        return command;
    }

    private static async Task WriteReportAsync(CliContext context, UsageReport report)
    {
        var period = (report.Since, report.Until) switch
        {
            (null, null) => "all time",
            ({ } from, null) => $"since {AdminOptions.Time(from)} UTC",
            (null, { } to) => $"until {AdminOptions.Time(to)} UTC",
            ({ } from, { } to) => $"{AdminOptions.Time(from)} to {AdminOptions.Time(to)} UTC",
        };
        await context.Output.WriteLineAsync($"usage, {period}").ConfigureAwait(false);
        context.OutConsole.Write(AdminTables.Usage(report));
        if (report.Key is { } own)
        {
            await context.Output.WriteLineAsync(
                $"key {own.Id} ({own.Name}): budget {AdminOptions.Usd(own.BudgetUsd, "none")}, spent {AdminOptions.Usd(own.SpentUsd)}, held {AdminOptions.Usd(own.HeldUsd)}, available {AdminOptions.Usd(own.AvailableUsd, "unlimited")}")
                .ConfigureAwait(false);
        }
    }
}
