using System.Globalization;
using System.Text.Json;

namespace Reelay.Providers.Http;

/// <summary>Tolerant readers for upstream JSON: a missing field or a field of an unexpected type reads as null.</summary>
public static class UpstreamJson
{
    /// <summary>The element at <paramref name="path"/>, or null.</summary>
    public static JsonElement? At(JsonElement element, params string[] path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var current = element;
        foreach (var name in path)
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
            {
                return null;
            }
        }

        return current.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined ? null : current;
    }

    /// <summary>A string (numbers are given as their text), or null.</summary>
    public static string? Str(JsonElement element, params string[] path) => At(element, path) switch
    {
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        { ValueKind: JsonValueKind.Number } n => n.GetRawText(),
        _ => null,
    };

    /// <summary>An integer (a numeric string or a string like "55%" counts), or null.</summary>
    public static int? Int(JsonElement element, params string[] path)
    {
        switch (At(element, path))
        {
            case { ValueKind: JsonValueKind.Number } n:
                return n.TryGetDouble(out var d) ? (int)Math.Round(d) : null;
            case { ValueKind: JsonValueKind.String } s:
                var text = s.GetString()?.Trim().TrimEnd('%').Trim();
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? (int)Math.Round(parsed) : null;
            default:
                return null;
        }
    }

    /// <summary>The first string of an array (or the string itself), or null.</summary>
    public static string? FirstStr(JsonElement element, params string[] path) => At(element, path) switch
    {
        { ValueKind: JsonValueKind.Array } a => a.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()).FirstOrDefault(),
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        _ => null,
    };
}
