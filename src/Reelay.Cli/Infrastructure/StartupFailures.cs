using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reelay.Server.Auth;
using Reelay.Storage;

namespace Reelay.Cli.Infrastructure;

/// <summary>What a gateway start that failed in a known way prints: one line, and the exit code.</summary>
/// <param name="Line">"reelay: what is wrong; how to fix it".</param>
/// <param name="ExitCode"><see cref="ReelayCli.ExitUsage"/> (2) for a setting to correct, <see cref="ReelayCli.ExitFailure"/> (1) otherwise.</param>
internal sealed record StartupFailure(string Line, int ExitCode);

/// <summary>
/// Turns the known ways a gateway start fails (an invalid setting, the data folder in use or not writable, the address in
/// use) into one line on stderr instead of a stack trace. Used by serve and by the in-process gateway of generate and demo.
/// </summary>
internal static partial class StartupFailures
{
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>How the command using the data folder can pick another one, for the "how to fix" part.</summary>
    public const string ServeDataHint = "--data DIR (or Reelay:DataDirectory)";

    /// <summary>
    /// Keeps the host from logging a failed start with its stack trace (the CLI prints one line instead). Only the start:
    /// once the app has started, the host's errors are logged as usual.
    /// </summary>
    public static void QuietHostStartFailure(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var started = new StrongBox<bool>();

        // A rule for the category replaces the configured level for it, so it carries that level itself (the most specific
        // of Logging:LogLevel's category prefixes, as the logging rules pick it; Information by default).
        var minimum = ConfiguredLevel(builder.Configuration.GetSection("Logging:LogLevel"), HostCategory);
        builder.Logging.AddFilter(HostCategory, level => level >= minimum && (Volatile.Read(ref started.Value) || level < LogLevel.Error));
        builder.Services.AddSingleton(new HostStartedFlag(started));
    }

    private static LogLevel ConfiguredLevel(IConfiguration levels, string category)
    {
        for (var name = category; name.Length > 0; name = name.LastIndexOf('.') is var dot and > 0 ? name[..dot] : "")
        {
            if (Enum.TryParse<LogLevel>(levels[name], ignoreCase: true, out var level))
            {
                return level;
            }
        }

        return Enum.TryParse<LogLevel>(levels["Default"], ignoreCase: true, out var fallback) ? fallback : LogLevel.Information;
    }

    /// <summary>Call once the app has started: the host's errors are logged again.</summary>
    public static void HostStarted(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Services.GetService(typeof(HostStartedFlag)) is HostStartedFlag flag)
        {
            Volatile.Write(ref flag.Started.Value, true);
        }
    }

    /// <summary>The line and exit code for a known start-up failure, or null for anything else.</summary>
    /// <param name="exception">What the start threw.</param>
    /// <param name="inUseHint">How to get past a data folder in use, e.g. "stop it, or give this one another folder with --data DIR".</param>
    public static StartupFailure? Describe(Exception exception, string inUseHint)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (Find<OptionsValidationException>(exception) is { } invalid)
        {
            var problems = invalid.Failures.Select(f => f.Trim().TrimEnd('.')).Where(f => f.Length > 0).ToList();
            var what = problems.Count == 0 ? invalid.Message.TrimEnd('.') : string.Join(" | ", problems);
            return new StartupFailure(
                $"reelay: the configuration is not valid: {what}; correct {(problems.Count > 1 ? "these settings" : "the setting")} (appsettings.json, Reelay__ environment variables or --Reelay:... options) and start again",
                ReelayCli.ExitUsage);
        }

        if (ConversionFailure(exception) is { } conversion)
        {
            var type = conversion.Groups[3].Value;
            var expected = type switch
            {
                "System.Int32" or "System.Int64" => "a whole number",
                "System.Decimal" or "System.Double" => "a number",
                "System.Boolean" => "true or false",
                "System.TimeSpan" => "a duration such as 00:00:30 (hh:mm:ss) or 1.00:00:00 (a day)",
                _ => $"a value of type {type}",
            };
            return new StartupFailure(
                $"reelay: the configuration is not valid: {conversion.Groups[2].Value} is '{conversion.Groups[1].Value}', which is not {expected}; correct the setting (appsettings.json, Reelay__ environment variables or --Reelay:... options) and start again",
                ReelayCli.ExitUsage);
        }

        if (Find<DataFolderException>(exception) is { } folder)
        {
            return folder.Problem switch
            {
                DataFolderProblem.InUse => new StartupFailure($"reelay: {folder.Message}; {inUseHint}", ReelayCli.ExitFailure),
                DataFolderProblem.NotWritable => new StartupFailure($"reelay: {folder.Message}; choose a folder this user can write with {ServeDataHint}, or fix its permissions", ReelayCli.ExitFailure),
                _ => new StartupFailure($"reelay: {folder.Message}; choose a folder path with {ServeDataHint}", ReelayCli.ExitUsage),
            };
        }

        if (Find<Storage.Postgres.StoreConnectionException>(exception) is { } store)
        {
            // The message names the server, database and user and what to fix; never the password.
            return new StartupFailure($"reelay: {store.Message.TrimEnd('.')}", ReelayCli.ExitFailure);
        }

        if (Find<AdminKeyException>(exception) is { } adminKey)
        {
            return new StartupFailure($"reelay: {adminKey.Message}", ReelayCli.ExitFailure);
        }

        if (FindBindFailure(exception) is { } bind)
        {
            var address = BindAddress().Match(bind.Message) is { Success: true } m ? m.Groups[1].Value : null;
            var inUse = Find<AddressInUseException>(bind) is not null
                || Find<SocketException>(bind) is { SocketErrorCode: SocketError.AddressAlreadyInUse };
            var what = inUse
                ? $"cannot listen on {address ?? "the address"}: it is already in use"
                : $"cannot listen on {address ?? "the address"}: {(bind.InnerException ?? bind).Message.TrimEnd('.')}";
            return new StartupFailure(
                $"reelay: {what}; stop the process that uses it, or choose another address with --urls, e.g. --urls http://127.0.0.1:8081",
                ReelayCli.ExitFailure);
        }

        if (Find<UnauthorizedAccessException>(exception) is { } denied)
        {
            return new StartupFailure($"reelay: permission denied: {denied.Message.TrimEnd('.')}; make the data folder writable by this user, or choose another with {ServeDataHint}", ReelayCli.ExitFailure);
        }

        if (InvalidUrl(exception) is { } url)
        {
            return new StartupFailure($"reelay: the listen address is not valid ({url.Message.TrimEnd('.')}); give --urls as http://HOST:PORT, e.g. --urls http://127.0.0.1:8080", ReelayCli.ExitUsage);
        }

        return null;
    }

    /// <summary>Writes the one line for a known failure; anything else is written whole (it is a bug to report), exit 1.</summary>
    public static async Task<int> ReportAsync(CliContext context, Exception exception, string inUseHint)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Describe(exception, inUseHint) is { } known)
        {
            await context.Error.WriteLineAsync(known.Line).ConfigureAwait(false);
            return known.ExitCode;
        }

        await context.Error.WriteLineAsync($"reelay: the gateway could not start: {exception}").ConfigureAwait(false);
        return ReelayCli.ExitFailure;
    }

    private static T? Find<T>(Exception? exception)
        where T : Exception
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is T found)
            {
                return found;
            }

            if (current is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    if (Find<T>(inner) is { } nested)
                    {
                        return nested;
                    }
                }
            }
        }

        return null;
    }

    private static IOException? FindBindFailure(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is IOException io && (io.Message.StartsWith("Failed to bind to address", StringComparison.Ordinal) || io.InnerException is AddressInUseException))
            {
                return io;
            }

            if (current is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Select(FindBindFailure).FirstOrDefault(e => e is not null);
            }
        }

        return null;
    }

    private static Exception? InvalidUrl(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is FormatException or InvalidOperationException && current.Message.StartsWith("Invalid url", StringComparison.OrdinalIgnoreCase))
            {
                return current;
            }
        }

        return null;
    }

    private static Match? ConversionFailure(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is InvalidOperationException && ConversionMessage().Match(current.Message) is { Success: true } match)
            {
                return match;
            }
        }

        return null;
    }

    [GeneratedRegex(@"^Failed to convert configuration value '(.*)' at '([^']+)' to type '([^']+)'")]
    private static partial Regex ConversionMessage();

    [GeneratedRegex(@"bind to address (\S+?):? ")]
    private static partial Regex BindAddress();

    private sealed class HostStartedFlag(StrongBox<bool> started)
    {
        public StrongBox<bool> Started { get; } = started;
    }
}
