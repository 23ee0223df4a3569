using System.Globalization;
using System.Text.Json;

namespace Reelay.Emulators.Kernel;

/// <summary>
/// A request body schema as an upstream's model page gives it, for the emulators' strict checks: every field by its path
/// ("input.prompt", "input.content[].role"), its kind, whether it is required and its allowed values. A field the schema
/// does not name is refused, so an adapter that sends a wrong name or a wrong type fails against the emulator. Written
/// from the references by hand, independently of Reelay's catalog, so a test through it checks the catalog.
/// </summary>
/// <param name="Fields">The fields.</param>
public sealed record WireSchema(params WireField[] Fields)
{
    /// <summary>The first problem with <paramref name="root"/> (naming the field), or null when it fits.</summary>
    public string? Check(JsonElement root)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var problem = Walk(root, "", seen);
        if (problem is not null)
        {
            return problem;
        }

        // A required field of a nested object is required only when that object is there (array items are not checked).
        static string Parent(string path) => path.Contains('.', StringComparison.Ordinal) ? path[..path.LastIndexOf('.')] : "";
        return Fields.FirstOrDefault(f => f.Required && !f.Path.Contains("[]", StringComparison.Ordinal) && !seen.Contains(f.Path) && (Parent(f.Path).Length == 0 || seen.Contains(Parent(f.Path)))) is { } missing
            ? $"{missing.Path} is required"
            : null;
    }

    private string? Walk(JsonElement element, string path, HashSet<string> seen)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return $"{(path.Length == 0 ? "the body" : path)} must be an object";
        }

        foreach (var property in element.EnumerateObject())
        {
            var at = path.Length == 0 ? property.Name : path + "." + property.Name;
            var field = Fields.FirstOrDefault(f => f.Path == at);
            if (field is null)
            {
                return $"{at} is not a field of this model";
            }

            seen.Add(at);
            var problem = field.Kind switch
            {
                WireKind.Object => Walk(property.Value, at, seen),
                WireKind.ObjectArray => property.Value.ValueKind != JsonValueKind.Array
                    ? $"{at} must be an array"
                    : property.Value.EnumerateArray().Select(item => Walk(item, at + "[]", seen)).FirstOrDefault(p => p is not null),
                _ => field.CheckValue(property.Value),
            };
            if (problem is not null)
            {
                return problem;
            }
        }

        return null;
    }
}

/// <summary>The kind of a <see cref="WireField"/>.</summary>
public enum WireKind
{
    /// <summary>A JSON string.</summary>
    String,

    /// <summary>A JSON integer.</summary>
    Integer,

    /// <summary>A JSON boolean.</summary>
    Boolean,

    /// <summary>A nested object (its fields are listed by path).</summary>
    Object,

    /// <summary>An array of objects (their fields are listed as "path[].name").</summary>
    ObjectArray,

    /// <summary>An image: an http(s) URL or a data URI.</summary>
    ImageUrlOrDataUri,

    /// <summary>An image: an http(s) URL or RAW Base64 (a "data:" prefix is refused).</summary>
    ImageUrlOrRawBase64,

    /// <summary>RAW Base64 bytes (a "data:" prefix is refused).</summary>
    RawBase64,

    /// <summary>A non-empty array of images, each an http(s) URL or a data URI.</summary>
    ImageUrlOrDataUriArray,
}

/// <summary>One field of a <see cref="WireSchema"/>.</summary>
/// <param name="Path">Dotted path; "[]" marks array items.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="Required">Whether it must be present.</param>
/// <param name="Allowed">Allowed values (as their JSON text without quotes), or null.</param>
public sealed record WireField(string Path, WireKind Kind, bool Required = false, params string[]? Allowed)
{
    /// <summary>The problem with a value of this field, or null.</summary>
    public string? CheckValue(JsonElement value)
    {
        switch (Kind)
        {
            case WireKind.Integer:
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out _))
                {
                    return $"{Path} must be an integer";
                }

                break;
            case WireKind.Boolean:
                if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    return $"{Path} must be a boolean";
                }

                break;
            case WireKind.ImageUrlOrDataUriArray:
                if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
                {
                    return $"{Path} must be a non-empty array of image URLs or data URIs";
                }

                return value.EnumerateArray().Select((item, i) => new WireField($"{Path}[{i}]", WireKind.ImageUrlOrDataUri).CheckValue(item)).FirstOrDefault(p => p is not null);
            default:
                if (value.ValueKind != JsonValueKind.String)
                {
                    return $"{Path} must be a string";
                }

                var text = value.GetString()!;
                var isUrl = text.StartsWith("http://", StringComparison.Ordinal) || text.StartsWith("https://", StringComparison.Ordinal);
                var isDataUri = text.StartsWith("data:image/", StringComparison.Ordinal) && text.Contains(";base64,", StringComparison.Ordinal);
                if (Kind == WireKind.ImageUrlOrDataUri && !isUrl && !isDataUri)
                {
                    return $"{Path} must be an image URL or a data URI";
                }

                if ((Kind is WireKind.ImageUrlOrRawBase64 or WireKind.RawBase64) && (text.StartsWith("data:", StringComparison.Ordinal) || ((!isUrl || Kind == WireKind.RawBase64) && !IsBase64(text))))
                {
                    return $"{Path} must be {(Kind == WireKind.RawBase64 ? "" : "an image URL or ")}raw Base64 without a data: prefix";
                }

                break;
        }

        if (Allowed is { Length: > 0 })
        {
            var actual = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
            if (!Allowed.Contains(actual))
            {
                return $"{Path} must be one of {string.Join(", ", Allowed)} (got {actual})";
            }
        }

        return null;
    }

    /// <summary>Integers from <paramref name="min"/> to <paramref name="max"/>, as allowed values.</summary>
    public static string[] Range(int min, int max) => Enumerable.Range(min, max - min + 1).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();

    private static bool IsBase64(string text)
    {
        var buffer = new byte[text.Length];
        return text.Length > 0 && Convert.TryFromBase64String(text, buffer, out _);
    }
}
