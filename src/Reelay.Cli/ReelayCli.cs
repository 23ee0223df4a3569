using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Reelay.Cli.Commands;

namespace Reelay.Cli;

/// <summary>Builds and runs the <c>reelay</c> root command.</summary>
internal static class ReelayCli
{
    /// <summary>Success.</summary>
    public const int ExitOk = 0;

    /// <summary>The command ran and failed (API error, failed job, unreachable server).</summary>
    public const int ExitFailure = 1;

    /// <summary>The command line was wrong.</summary>
    public const int ExitUsage = 2;

    /// <summary>Interrupted (Ctrl+C).</summary>
    public const int ExitInterrupted = 130;

    public static RootCommand CreateRootCommand(CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var root = new RootCommand("reelay: a self-hosted gateway for async AI video generation, and a client for it.")
        {
            ServeCommand.Create(context),
            MigrateCommand.Create(context),
            DemoCommand.Create(context),
            GenerateCommand.Create(context),
            StatusCommand.Create(context),
            ListCommand.Create(context),
            CancelCommand.Create(context),
            DownloadCommand.Create(context),
            ModelsCommand.Create(context),
            ProvidersCommand.Create(context),
            EmulateCommand.Create(context),
            KeysCommand.Create(context),
            UsageCommand.Create(context),
            ChargesCommand.Create(context),
        };
        NameUsageReelay(root);
        return root;
    }

    /// <summary>
    /// Help names the command as users type it, `reelay`, in every usage line. System.CommandLine takes the root's name
    /// from the entry assembly, Reelay.Cli (which must not be called reelay: see its csproj), and offers no way to rename
    /// the root, so the help action writes through a filter that puts `reelay` in its place.
    /// </summary>
    private static void NameUsageReelay(RootCommand root)
    {
        if (root.Name == "reelay")
        {
            return;
        }

        foreach (var help in root.Options.OfType<HelpOption>())
        {
            if (help.Action is SynchronousCommandLineAction inner)
            {
                help.Action = new ReelayHelpAction(inner, root.Name);
            }
        }
    }

    private sealed class ReelayHelpAction(SynchronousCommandLineAction inner, string rootName) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            var configuration = parseResult.InvocationConfiguration;
            var output = configuration.Output;
            using var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
            configuration.Output = text;
            int code;
            try
            {
                code = inner.Invoke(parseResult);
            }
            finally
            {
                configuration.Output = output;
            }

            output.Write(text.ToString().Replace(rootName + " ", "reelay ", StringComparison.Ordinal));
            return code;
        }
    }

    /// <summary>The whole command path as typed ("reelay keys create"), so a usage hint names a subcommand's parents.</summary>
    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? current = result; current is CommandResult { Command: not RootCommand } command; current = command.Parent)
        {
            names.Insert(0, command.Command.Name);
        }

        names.Insert(0, "reelay");
        return string.Join(' ', names);
    }

    /// <summary>Parses and runs <paramref name="args"/>; usage errors exit with <see cref="ExitUsage"/>.</summary>
    public static async Task<int> InvokeAsync(RootCommand root, IReadOnlyList<string> args, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(context);
        var parseResult = root.Parse(args);
        if (parseResult.Action is ParseErrorAction)
        {
            foreach (var error in parseResult.Errors)
            {
                await context.Error.WriteLineAsync($"error: {error.Message}").ConfigureAwait(false);
            }

            await context.Error.WriteLineAsync($"Run '{CommandPath(parseResult.CommandResult)} --help' for usage.").ConfigureAwait(false);
            return ExitUsage;
        }

        var configuration = new InvocationConfiguration
        {
            Output = context.Output,
            Error = context.Error,
        };

        // serve hands Ctrl+C and SIGTERM to the ASP.NET host, which shuts down gracefully in its own time.
        if (parseResult.CommandResult.Command.Name == ServeCommand.Name)
        {
            configuration.ProcessTerminationTimeout = null;
        }

        return await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }
}
