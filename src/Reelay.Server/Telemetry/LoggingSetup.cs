using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using ZLogger;

namespace Reelay.Server.Telemetry;

/// <summary>
/// The console log's defaults: one line per entry with a UTC timestamp, Reelay at Information (the .NET default minimum), the framework's own
/// categories (Microsoft.AspNetCore, System.Net.Http) at Warning, and Reelay:Logging:Format=json for one JSON object per
/// line. The defaults are the lowest-priority configuration source, so the standard Logging section (appsettings.json,
/// Logging__LogLevel__... variables, --Logging:... arguments) still overrides every one of them.
/// </summary>
public static class LoggingSetup
{
    /// <summary>The timestamp format of both formats (UTC, ISO 8601).</summary>
    public const string TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";

    /// <summary>The defaults, as configuration keys.</summary>
    public static IReadOnlyDictionary<string, string?> Defaults { get; } = new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:System.Net.Http"] = "Warning",
        // Without a formatter name the console logger copies its obsolete own options over the formatter's.
        ["Logging:Console:FormatterName"] = "simple",
        ["Logging:Console:FormatterOptions:SingleLine"] = "true",
        ["Logging:Console:FormatterOptions:UseUtcTimestamp"] = "true",
        ["Logging:Console:FormatterOptions:TimestampFormat"] = TimestampFormat + " ",
    };

    /// <summary>Puts the defaults under every other configuration source.</summary>
    internal static void AddDefaults(IConfigurationBuilder configuration) =>
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Defaults });

    /// <summary>Whether Reelay:Logging:Format asks for JSON.</summary>
    public static bool IsJson(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return string.Equals(configuration[$"{ReelayOptions.Section}:Logging:Format"], "json", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Applies Reelay:Logging (after the host's own configuration is complete).</summary>
    internal static void Apply(WebApplicationBuilder builder)
    {
        if (IsJson(builder.Configuration))
        {
            builder.Logging.AddJsonConsole(json =>
            {
                json.TimestampFormat = TimestampFormat;
                json.UseUtcTimestamp = true;
                json.IncludeScopes = false;
            });
        }
        else if (string.Equals(builder.Configuration["Logging:Console:FormatterName"], "simple", StringComparison.OrdinalIgnoreCase))
        {
            // The default text format (an operator who picked another console formatter keeps the console logger).
            UseBatchedText(builder);
        }

        if (RequestsOn(builder.Configuration))
        {
            builder.Services.AddSingleton<Engine.IJobObserver, RequestJobObserver>();
        }
    }

    /// <summary>
    /// The text log through ZLogger instead of the framework's console logger, in the same line format. The console logger
    /// wakes its writer thread and makes one write to stdout per entry; at one line per request that cost a status read
    /// a fifth of its throughput. ZLogger formats to UTF-8, and <see cref="BufferedLogWriter"/> writes the lines of up to
    /// Reelay:Logging:FlushInterval at once (with an interval of zero, ZLogger's own console writer writes each batch).
    /// </summary>
    private static void UseBatchedText(WebApplicationBuilder builder)
    {
        foreach (var console in builder.Services.Where(d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider)).ToList())
        {
            builder.Services.Remove(console);
        }

        var interval = FlushInterval(builder.Configuration);
        if (interval == TimeSpan.Zero)
        {
            builder.Logging.AddZLoggerConsole(Configure);
            return;
        }

        builder.Logging.AddZLoggerLogProcessor(options =>
        {
            Configure(options);
            var writer = new BufferedLogWriter(Console.OpenStandardOutput(), options.CreateFormatter(), interval);
            // The host closes the writer when it disposes the logger; a process that ends some other way still writes what waits.
            AppDomain.CurrentDomain.ProcessExit += (_, _) => writer.Flush();
            return writer;
        });

        static void Configure(ZLoggerOptions options)
        {
            options.FullMode = ZLogger.BackgroundBufferFullMode.Block;
            options.BackgroundBufferCapacity = 10_000;
            options.UsePlainTextFormatter(text => text.SetPrefixFormatter(
                $"{0:yyyy-MM-ddTHH:mm:ss.fffZ} {1}: {2}[{3}] ",
                (in ZLogger.MessageTemplate template, in ZLogger.LogInfo info) => template.Format(info.Timestamp.Utc.UtcDateTime, LevelName(info.LogLevel), info.Category.Name, info.EventId.Id)));
        }
    }

    /// <summary>
    /// Reelay:Logging:FlushInterval, read before the options are bound (the log is set up first). A value that is not a
    /// valid interval falls back to the default here; the options' validation then stops the start naming the setting.
    /// </summary>
    internal static TimeSpan FlushInterval(IConfiguration configuration)
    {
        var text = configuration[$"{ReelayOptions.Section}:Logging:FlushInterval"];
        return !string.IsNullOrWhiteSpace(text)
            && TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var interval)
            && interval >= TimeSpan.Zero && interval <= LoggingOptions.MaxFlushInterval
            ? interval
            : LoggingOptions.DefaultFlushInterval;
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };

    /// <summary>Whether the per-request line is on (Reelay:Logging:Requests, default true).</summary>
    internal static bool RequestsOn(IConfiguration configuration) =>
        !string.Equals(configuration[$"{ReelayOptions.Section}:Logging:Requests"], "false", StringComparison.OrdinalIgnoreCase);
}
