using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Reelay.Client;
using Reelay.Client.Admin;

namespace Reelay.Cli.Infrastructure;

/// <summary>What the admin commands (keys, usage, charges) share: value parsers, --json output and the 403 hint.</summary>
internal static class AdminOptions
{
    public const string AdminKeyHint = "hint: this needs an admin API key: pass --key, or set REELAY_ADMIN_KEY.";

    public static ConnectionOptions Connection(CliContext context) =>
        new(context, $"Gateway address (default: ${ConnectionOptions.UrlVariable}, else http://127.0.0.1:8080).", preferAdminKey: true);

    public static Option<bool> Json() => new("--json") { Description = "Print the API's objects as JSON instead of a table." };

    /// <summary>Like <see cref="CommandActions.SetHandler"/>, and a 403 also says which key is needed.</summary>
    public static void SetAdminHandler(this Command command, CliContext context, Func<ParseResult, CancellationToken, Task<int>> run) =>
        command.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            try
            {
                return await run(parseResult, cancellationToken).ConfigureAwait(false);
            }
            catch (ReelayApiException ex) when (ex.StatusCode == 403)
            {
                await context.Error.WriteLineAsync(CommandActions.Describe(ex) + Environment.NewLine + AdminKeyHint).ConfigureAwait(false);
                return ReelayCli.ExitFailure;
            }
        });

    public static async Task WriteJsonAsync<T>(CliContext context, T value, JsonTypeInfo<T> typeInfo)
    {
        await context.Output.WriteLineAsync(JsonSerializer.Serialize(value, typeInfo)).ConfigureAwait(false);
    }

    /// <summary>A USD amount: a decimal number from 0, at most six decimal places, optionally with a leading $.</summary>
    public static decimal? Usd(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        var text = result.Tokens[^1].Value;
        var number = text.StartsWith('$') ? text[1..] : text;
        if (decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var usd) && usd * 1_000_000m == decimal.Truncate(usd * 1_000_000m))
        {
            return usd;
        }

        result.AddError($"{NameOf(result)} must be a USD amount such as 5 or 0.25 (at most six decimal places); got '{text}'.");
        return null;
    }

    /// <summary>Model names separated by commas (the option may also repeat).</summary>
    public static IReadOnlyList<string>? Models(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        var names = result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Distinct(StringComparer.Ordinal).ToList();
        if (names.Count == 0)
        {
            result.AddError($"{NameOf(result)} needs at least one model name (use --no-models for every model).");
            return null;
        }

        return names;
    }

    /// <summary>A future time: ISO 8601, unix seconds, or a duration from now such as 30d, 12h, 90m.</summary>
    public static DateTimeOffset? FutureTime(ArgumentResult result) => Time(result, TimeProvider.System.GetUtcNow(), +1);

    /// <summary>A past time: ISO 8601, unix seconds, or a duration ago such as 7d, 12h, 90m.</summary>
    public static DateTimeOffset? PastTime(ArgumentResult result) => Time(result, TimeProvider.System.GetUtcNow(), -1);

    public static DateTimeOffset? ParseTime(string text, DateTimeOffset now, int direction)
    {
        text = text.Trim();
        if (text.Length >= 2 && char.IsAsciiLetter(text[^1])
            && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count < 1_000_000)
        {
            TimeSpan? unit = char.ToLowerInvariant(text[^1]) switch
            {
                's' => TimeSpan.FromSeconds(1),
                'm' => TimeSpan.FromMinutes(1),
                'h' => TimeSpan.FromHours(1),
                'd' => TimeSpan.FromDays(1),
                'w' => TimeSpan.FromDays(7),
                _ => null,
            };
            if (unit is { } u)
            {
                return now + (direction * count * u);
            }
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and < 253402300800)
        {
            return DateTimeOffset.FromUnixTimeSeconds(seconds);
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at.ToUniversalTime() : null;
    }

    public static string Usd(decimal value) => "$" + value.ToString("0.00####", CultureInfo.InvariantCulture);

    public static string Usd(decimal? value, string none) => value is { } v ? Usd(v) : none;

    public static string Time(DateTimeOffset? value, string none = "") =>
        value is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : none;

    public static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static DateTimeOffset? Time(ArgumentResult result, DateTimeOffset now, int direction)
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        var text = result.Tokens[^1].Value;
        var time = ParseTime(text, now, direction);
        if (time is null)
        {
            var example = direction > 0 ? "30d" : "7d";
            result.AddError($"{NameOf(result)} must be an ISO 8601 time (2027-01-31T00:00:00Z), unix seconds, or a duration such as {example}, 12h, 90m; got '{text}'.");
        }

        return time;
    }

    private static string NameOf(ArgumentResult result) => (result.Parent as OptionResult)?.Option.Name ?? "the value";
}

/// <summary>The SDK's admin objects as JSON, in the API's own shape (snake_case, unix seconds).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(ApiKey))]
[JsonSerializable(typeof(IReadOnlyList<ApiKey>))]
[JsonSerializable(typeof(Charge))]
[JsonSerializable(typeof(IReadOnlyList<Charge>))]
[JsonSerializable(typeof(UsageReport))]
internal sealed partial class AdminCliJsonContext : JsonSerializerContext;
