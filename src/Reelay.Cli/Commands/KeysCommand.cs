using System.CommandLine;
using Reelay.Cli.Infrastructure;
using Reelay.Client.Admin;

namespace Reelay.Cli.Commands;

/// <summary><c>reelay keys create|list|show|update|revoke</c>: API keys, through the admin API.</summary>
internal static class KeysCommand
{
    public static Command Create(CliContext context) =>
        new("keys", "Manage API keys (needs an admin key).")
        {
            CreateKey(context),
            ListKeys(context),
            ShowKey(context),
            UpdateKey(context),
            RevokeKey(context),
        };

    /// <summary>The limit options that create and update share.</summary>
    private sealed class LimitOptions
    {
        public Option<IReadOnlyList<string>?> Models { get; } = new("--models") { Description = "Models the key may use, comma-separated (default: every model).", HelpName = "a,b", CustomParser = AdminOptions.Models, Arity = ArgumentArity.ExactlyOne };

        public Option<int?> RatePerMinute { get; } = new("--rate-per-minute") { Description = "Most submits per minute (default: no limit).", HelpName = "N", CustomParser = OptionParsers.PositiveInt };

        public Option<int?> MaxInFlight { get; } = new("--max-in-flight") { Description = "Most unfinished jobs at once (default: no limit).", HelpName = "N", CustomParser = OptionParsers.PositiveInt };

        public Option<decimal?> Budget { get; } = new("--budget") { Description = "Budget in USD (default: no budget).", HelpName = "USD", CustomParser = AdminOptions.Usd };

        public Option<DateTimeOffset?> Expires { get; } = new("--expires") { Description = "When the key stops working: ISO 8601, unix seconds, or from now such as 30d, 12h (default: never).", HelpName = "TIME", CustomParser = AdminOptions.FutureTime };

        public void AddTo(Command command)
        {
            command.Add(Models);
            command.Add(RatePerMinute);
            command.Add(MaxInFlight);
            command.Add(Budget);
            command.Add(Expires);
        }
    }

    private static Command CreateKey(CliContext context)
    {
        var name = new Option<string>("--name") { Description = "Who or what uses the key.", HelpName = "NAME", Required = true };
        var scope = new Option<string?>("--scope") { Description = "client (its own jobs, the default) or admin (everything).", HelpName = "client|admin" };
        scope.AcceptOnlyFromAmong(ApiKeyScope.Client, ApiKeyScope.Admin);
        var limits = new LimitOptions();
        var json = AdminOptions.Json();
        var connection = AdminOptions.Connection(context);
        var command = new Command("create", "Create an API key and print its secret (shown only once).") { name, scope };
        limits.AddTo(command);
        command.Add(json);
        connection.AddTo(command);
        command.SetAdminHandler(context, async (parseResult, cancellationToken) =>
        {
            var client = connection.CreateClient(parseResult);
            var key = await client.CreateApiKeyAsync(new CreateApiKeyRequest
            {
                Name = parseResult.GetValue(name)!,
                Scope = parseResult.GetValue(scope),
                Models = parseResult.GetValue(limits.Models),
                RateLimitPerMinute = parseResult.GetValue(limits.RatePerMinute),
                MaxJobsInFlight = parseResult.GetValue(limits.MaxInFlight),
                BudgetUsd = parseResult.GetValue(limits.Budget),
                ExpiresAt = parseResult.GetValue(limits.Expires),
            }, cancellationToken).ConfigureAwait(false);

            if (parseResult.GetValue(json))
            {
                await AdminOptions.WriteJsonAsync(context, key, AdminCliJsonContext.Default.ApiKey).ConfigureAwait(false);
            }
            else
            {
                context.OutConsole.Write(AdminTables.Key(key));
                await context.Output.WriteLineAsync().ConfigureAwait(false);
                await context.Output.WriteLineAsync($"secret: {key.Key}").ConfigureAwait(false);
            }

            await context.Error.WriteLineAsync("warning: store the secret now; it is not shown again (the gateway keeps only its hash).").ConfigureAwait(false);
            return ReelayCli.ExitOk;
        });
        return command;
    }

    private static Command ListKeys(CliContext context)
    {
        var json = AdminOptions.Json();
        var connection = AdminOptions.Connection(context);
        var command = new Command("list", "List API keys (never their secrets).") { json };
        connection.AddTo(command);
        command.SetAdminHandler(context, async (parseResult, cancellationToken) =>
        {
            var keys = await connection.CreateClient(parseResult).ListApiKeysAsync(cancellationToken).ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                await AdminOptions.WriteJsonAsync(context, keys, AdminCliJsonContext.Default.IReadOnlyListApiKey).ConfigureAwait(false);
            }
            else
            {
                context.OutConsole.Write(AdminTables.Keys(keys));
            }

            return ReelayCli.ExitOk;
        });
        return command;
    }

    private static Command ShowKey(CliContext context)
    {
        var id = new Argument<string>("id") { Description = "The key's id (not its secret)." };
        var json = AdminOptions.Json();
        var connection = AdminOptions.Connection(context);
        var command = new Command("show", "Show one API key with its balance.") { id, json };
        connection.AddTo(command);
        command.SetAdminHandler(context, async (parseResult, cancellationToken) =>
        {
            var key = await connection.CreateClient(parseResult).GetApiKeyAsync(parseResult.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            await WriteKeyAsync(context, key, parseResult.GetValue(json)).ConfigureAwait(false);
            return ReelayCli.ExitOk;
        });
        return command;
    }

    private static Command UpdateKey(CliContext context)
    {
        var id = new Argument<string>("id") { Description = "The key's id." };
        var name = new Option<string?>("--name") { Description = "A new name.", HelpName = "NAME" };
        var limits = new LimitOptions();
        var noModels = new Option<bool>("--no-models") { Description = "Allow every model." };
        var noRate = new Option<bool>("--no-rate-limit") { Description = "Remove the submits-per-minute limit." };
        var noInFlight = new Option<bool>("--no-max-in-flight") { Description = "Remove the in-flight limit." };
        var noBudget = new Option<bool>("--no-budget") { Description = "Remove the budget." };
        var noExpiry = new Option<bool>("--no-expiry") { Description = "Never expire." };
        var json = AdminOptions.Json();
        var connection = AdminOptions.Connection(context);
        var command = new Command("update", "Change an API key's name or limits; options not given stay as they are. The scope cannot change.") { id, name };
        limits.AddTo(command);
        command.Add(noModels);
        command.Add(noRate);
        command.Add(noInFlight);
        command.Add(noBudget);
        command.Add(noExpiry);
        command.Add(json);
        connection.AddTo(command);
        command.SetAdminHandler(context, async (parseResult, cancellationToken) =>
        {
            FieldUpdate<T> Update<T>(Option<T?> set, Option<bool> clear)
                where T : struct
            {
                var value = parseResult.GetValue(set);
                if (parseResult.GetValue(clear))
                {
                    return value is null ? FieldUpdate<T>.Clear : throw new UsageException($"give {set.Name} or {clear.Name}, not both.");
                }

                return value is { } v ? FieldUpdate<T>.Set(v) : FieldUpdate<T>.Leave;
            }

            var models = parseResult.GetValue(limits.Models);
            if (models is not null && parseResult.GetValue(noModels))
            {
                throw new UsageException($"give {limits.Models.Name} or {noModels.Name}, not both.");
            }

            var request = new UpdateApiKeyRequest
            {
                Name = parseResult.GetValue(name),
                Models = models is not null ? FieldUpdate.Set(models) : parseResult.GetValue(noModels) ? FieldUpdate<IReadOnlyList<string>>.Clear : default,
                RateLimitPerMinute = Update(limits.RatePerMinute, noRate),
                MaxJobsInFlight = Update(limits.MaxInFlight, noInFlight),
                BudgetUsd = Update(limits.Budget, noBudget),
                ExpiresAt = Update(limits.Expires, noExpiry),
            };
            if (request.Name is null && request.Models.Kind == FieldUpdateKind.Leave && request.RateLimitPerMinute.Kind == FieldUpdateKind.Leave
                && request.MaxJobsInFlight.Kind == FieldUpdateKind.Leave && request.BudgetUsd.Kind == FieldUpdateKind.Leave && request.ExpiresAt.Kind == FieldUpdateKind.Leave)
            {
                throw new UsageException("nothing to change; give --name, a limit option, or a --no-... option (see 'reelay keys update --help').");
            }

            var key = await connection.CreateClient(parseResult).UpdateApiKeyAsync(parseResult.GetValue(id)!, request, cancellationToken).ConfigureAwait(false);
            await WriteKeyAsync(context, key, parseResult.GetValue(json)).ConfigureAwait(false);
            return ReelayCli.ExitOk;
        });
        return command;
    }

    private static Command RevokeKey(CliContext context)
    {
        var id = new Argument<string>("id") { Description = "The key's id." };
        var json = AdminOptions.Json();
        var connection = AdminOptions.Connection(context);
        var command = new Command("revoke", "Revoke an API key: its next request is refused (401).") { id, json };
        connection.AddTo(command);
        command.SetAdminHandler(context, async (parseResult, cancellationToken) =>
        {
            var key = await connection.CreateClient(parseResult).RevokeApiKeyAsync(parseResult.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                await AdminOptions.WriteJsonAsync(context, key, AdminCliJsonContext.Default.ApiKey).ConfigureAwait(false);
            }
            else
            {
                await context.Output.WriteLineAsync($"{key.Id}: {AdminTables.State(key)}").ConfigureAwait(false);
            }

            return ReelayCli.ExitOk;
        });
        return command;
    }

    private static async Task WriteKeyAsync(CliContext context, ApiKey key, bool json)
    {
        if (json)
        {
            await AdminOptions.WriteJsonAsync(context, key, AdminCliJsonContext.Default.ApiKey).ConfigureAwait(false);
        }
        else
        {
            context.OutConsole.Write(AdminTables.Key(key));
        }
    }
}
