using System.CommandLine;
using Reelay.Cli.Infrastructure;
using Reelay.Client.Admin;

namespace Reelay.Cli.Commands;

/// <summary><c>reelay charges list|show|settle|release</c>: what each job held and cost.</summary>
internal static class ChargesCommand
{
    public static Command Create(CliContext context) =>
        new("charges", "Inspect charges, and settle or release unresolved ones (needs an admin key).")
        {
            List(context),
            Show(context),
            Close(context, "settle", "Settle an unresolved charge: charge the whole hold, or --amount."),
            Close(context, "release", "Release an unresolved charge: nothing is charged and the hold returns to the key."),
        };

    private static Command List(CliContext context)
    {
        var state = new Option<string?>("--state") { Description = "Only charges in this state.", HelpName = "held|settled|released|unresolved" };
        state.AcceptOnlyFromAmong(ChargeState.Held, ChargeState.Settled, ChargeState.Released, ChargeState.Unresolved);
        var key = new Option<string?>("--key-id") { Description = "Only this key's charges (its id).", HelpName = "ID" };
        var limit = new Option<int?>("--limit", "-n") { Description = "At most this many, newest first (default 100, at most 1000).", HelpName = "N", CustomParser = OptionParsers.PositiveInt };
        var json = AdminOptions.Json();
        var connection = AdminOptions.Connection(context);
        var command = new Command("list", "List charges, newest first.") { state, key, limit, json };
        connection.AddTo(command);
        command.SetAdminHandler(context, async (parseResult, cancellationToken) =>
        {
            var charges = await connection.CreateClient(parseResult)
                .ListChargesAsync(parseResult.GetValue(key), parseResult.GetValue(state), parseResult.GetValue(limit), cancellationToken).ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                await AdminOptions.WriteJsonAsync(context, charges, AdminCliJsonContext.Default.IReadOnlyListCharge).ConfigureAwait(false);
            }
            else if (charges.Count == 0)
            {
                await context.Output.WriteLineAsync("No charges.").ConfigureAwait(false);
            }
            else
            {
                context.OutConsole.Write(AdminTables.Charges(charges));
            }

            return ReelayCli.ExitOk;
        });
        return command;
    }

    private static Command Show(CliContext context)
    {
        var jobId = new Argument<string>("job-id") { Description = "The job (video) id." };
        var json = AdminOptions.Json();
        var connection = AdminOptions.Connection(context);
        var command = new Command("show", "Show one job's charge.") { jobId, json };
        connection.AddTo(command);
        command.SetAdminHandler(context, async (parseResult, cancellationToken) =>
        {
            var charge = await connection.CreateClient(parseResult).GetChargeAsync(parseResult.GetValue(jobId)!, cancellationToken).ConfigureAwait(false);
            await WriteChargeAsync(context, charge, parseResult.GetValue(json)).ConfigureAwait(false);
            return ReelayCli.ExitOk;
        });
        return command;
    }

    private static Command Close(CliContext context, string name, string description)
    {
        var jobId = new Argument<string>("job-id") { Description = "The job (video) id." };
        var amount = new Option<decimal?>("--amount") { Description = "USD to charge, at most the hold (default: the whole hold).", HelpName = "USD", CustomParser = AdminOptions.Usd };
        var json = AdminOptions.Json();
        var connection = AdminOptions.Connection(context);
        var command = new Command(name, description) { jobId };
        var settle = name == "settle";
        if (settle)
        {
            command.Add(amount);
        }

        command.Add(json);
        connection.AddTo(command);
        command.SetAdminHandler(context, async (parseResult, cancellationToken) =>
        {
            var client = connection.CreateClient(parseResult);
            var id = parseResult.GetValue(jobId)!;
            var charge = settle
                ? await client.SettleChargeAsync(id, parseResult.GetValue(amount), cancellationToken).ConfigureAwait(false)
                : await client.ReleaseChargeAsync(id, cancellationToken).ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                await AdminOptions.WriteJsonAsync(context, charge, AdminCliJsonContext.Default.Charge).ConfigureAwait(false);
            }
            else
            {
                await context.Output.WriteLineAsync($"{charge.JobId}: {charge.State}, charged {AdminOptions.Usd(charge.ChargedUsd)} of {AdminOptions.Usd(charge.HeldUsd)} held").ConfigureAwait(false);
            }

            return ReelayCli.ExitOk;
        });
        return command;
    }

    private static async Task WriteChargeAsync(CliContext context, Charge charge, bool json)
    {
        if (json)
        {
            await AdminOptions.WriteJsonAsync(context, charge, AdminCliJsonContext.Default.Charge).ConfigureAwait(false);
        }
        else
        {
            context.OutConsole.Write(AdminTables.Charge(charge));
        }
    }
}
