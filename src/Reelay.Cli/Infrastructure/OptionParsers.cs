using System.CommandLine.Parsing;
using System.Globalization;

namespace Reelay.Cli.Infrastructure;

/// <summary>Parsers that turn bad values into usage errors naming the option, instead of exceptions.</summary>
internal static class OptionParsers
{
    public static int? PositiveInt(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        var text = result.Tokens[^1].Value;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0)
        {
            return value;
        }

        var name = (result.Parent as OptionResult)?.Option.Name ?? "the value";
        result.AddError($"{name} must be a positive whole number; got '{text}'.");
        return null;
    }
}
