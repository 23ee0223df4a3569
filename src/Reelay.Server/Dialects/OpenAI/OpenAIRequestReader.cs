using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Reelay.Jobs;
using Reelay.Net;
using Reelay.Server.Webhooks;

namespace Reelay.Server.Dialects.OpenAI;

/// <summary>Parses POST /v1/videos (JSON or multipart/form-data) into a canonical <see cref="JobRequest"/>.</summary>
internal sealed class OpenAIRequestReader : IDialectRequestReader
{
    private static readonly string[] KnownFields = ["model", "prompt", "seconds", "size", "input_reference", "seed", "options", "metadata", "characters", WebhookRequestFields.UrlField, WebhookRequestFields.EventsField];

    /// <summary>The dialect's name on the jobs it creates.</summary>
    public const string Dialect = "openai";

    private const string Alternatives = "application/json or multipart/form-data";

    /// <summary>Fields whose null would otherwise be replaced by a default (or dropped): refused, so nothing is changed silently.</summary>
    private static readonly string[] NotNullable = ["model", "prompt", "seconds", "size", "seed"];

    public static async Task<JobRequest> ReadAsync(DialectContext dialect)
    {
        if (dialect.Request.HasFormContentType)
        {
            return await ReadFormAsync(dialect).ConfigureAwait(false);
        }

        return await ReadJsonAsync(dialect).ConfigureAwait(false);
    }

    private static async Task<JobRequest> ReadJsonAsync(DialectContext dialect)
    {
        JsonBody.RequireJsonContentType(dialect.Request, Alternatives);
        using var document = await JsonBody.ReadObjectAsync(dialect.Request, dialect.Aborted).ConfigureAwait(false);
        var root = document.RootElement;
        foreach (var property in root.EnumerateObject())
        {
            RejectUnknown(property.Name);
            if (property.Value.ValueKind == JsonValueKind.Null && NotNullable.Contains(property.Name))
            {
                throw ReelayException.Invalid(property.Name, $"'{property.Name}' is null; leave the field out to get the default, or give a value.");
            }
        }

        InputImage? image = null;
        if (root.TryGetProperty("input_reference", out var reference) && reference.ValueKind != JsonValueKind.Null)
        {
            image = reference.ValueKind switch
            {
                JsonValueKind.String => InputImage.Parse(reference.GetString()!, "input_reference"),
                JsonValueKind.Object => ReferenceObject(reference),
                _ => throw ReelayException.Invalid("input_reference", "'input_reference' must be an object {\"image_url\": \"https://... or data:image/...;base64,...\"} or a file upload."),
            };
        }

        var (webhook, events) = WebhookRequestFields.FromJson(root, dialect.Addresses, WebhookRequestFields.OpenAIEvents);
        return new JobRequest
        {
            Model = String(root, "model") ?? dialect.Options.OpenAI.DefaultModel,
            Prompt = String(root, "prompt"),
            DurationSeconds = Seconds(root.TryGetProperty("seconds", out var s) ? s : default),
            Size = CheckSize(String(root, "size")),
            Seed = root.TryGetProperty("seed", out var seed)
                ? seed.ValueKind == JsonValueKind.Number && seed.TryGetInt64(out var n) ? n : throw ReelayException.Invalid("seed", "'seed' must be an integer.")
                : null,
            FirstFrame = image,
            CharacterIds = Characters(root),
            Options = Map(root, "options", allowScalars: true),
            Metadata = Map(root, "metadata", allowScalars: false),
            WebhookUrl = webhook,
            WebhookEvents = events,
            Owner = dialect.Owner,
            IdempotencyKey = dialect.IdempotencyKey,
            Dialect = Dialect,
        };
    }

    private static InputImage ReferenceObject(JsonElement reference)
    {
        string? url = null;
        foreach (var p in reference.EnumerateObject())
        {
            switch (p.Name)
            {
                case "image_url" when p.Value.ValueKind == JsonValueKind.String:
                    url = p.Value.GetString();
                    break;
                case "image_url":
                    throw ReelayException.Invalid("input_reference.image_url", "'input_reference.image_url' must be a string.");
                case "file_id":
                    throw ReelayException.Invalid("input_reference.file_id", "'input_reference.file_id' is not supported by this gateway; upload the file as input_reference or give image_url.");
                default:
                    throw ReelayException.Invalid($"input_reference.{p.Name}", $"'input_reference.{p.Name}' is not recognised; give exactly one of image_url or a file upload.");
            }
        }

        return url is null
            ? throw ReelayException.Invalid("input_reference.image_url", "'input_reference' needs 'image_url' (a URL or data:image/...;base64,...).")
            : InputImage.Parse(url, "input_reference.image_url");
    }

    private static async Task<JobRequest> ReadFormAsync(DialectContext dialect)
    {
        var form = await FormBody.ReadAsync(dialect.Request, dialect.Limits.MaxImageBytes, dialect.Aborted).ConfigureAwait(false);
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var characters = new List<string>();
        string? referenceUrl = null;
        foreach (var (key, value) in form.Fields)
        {
            if (key is "characters" or "characters[]")
            {
                characters.Add(value);
                continue;
            }

            if (!seen.Add(key) && key is not (WebhookRequestFields.EventsField or WebhookRequestFields.EventsField + "[]"))
            {
                throw ReelayException.Invalid(FormParam(key), $"'{key}' is given more than once; send each field once (only {WebhookRequestFields.EventsField} may repeat).");
            }

            if (TryIndexed(key, "options", out var option))
            {
                options[option] = value;
            }
            else if (TryIndexed(key, "metadata", out var meta))
            {
                metadata[meta] = value;
            }
            else if (key == "input_reference[image_url]")
            {
                referenceUrl = value;
            }
            else if (WebhookRequestFields.IsFormField(key))
            {
            }
            else if (key == "input_reference[file_id]")
            {
                throw ReelayException.Invalid("input_reference.file_id", "'input_reference.file_id' is not supported by this gateway; upload the file as input_reference or give image_url.");
            }
            else
            {
                RejectUnknown(key);
            }
        }

        foreach (var other in form.Files)
        {
            if (other.Name != "input_reference")
            {
                RejectUnknown(other.Name);
            }
        }

        var uploads = form.Files.Where(f => f.Name == "input_reference").ToList();
        if (uploads.Count > 1 || (uploads.Count == 1 && (referenceUrl is not null || seen.Contains("input_reference"))))
        {
            throw ReelayException.Invalid("input_reference", "'input_reference' is given more than once; send one first frame: a file upload or an image_url.");
        }

        if (referenceUrl is not null && seen.Contains("input_reference"))
        {
            throw ReelayException.Invalid("input_reference", "'input_reference' and 'input_reference[image_url]' are both given; send one first frame.");
        }

        InputImage? image = null;
        if (uploads.Count == 1)
        {
            var file = uploads[0];
            image = InputImage.FromBytes(file.Bytes, "input_reference", file.ContentType, file.FileName);
        }
        else if (referenceUrl is not null || seen.Contains("input_reference"))
        {
            var text = referenceUrl ?? Single(form, "input_reference")!;
            image = text.TrimStart().StartsWith('{') ? ReferenceObject(ParseObject(text)) : InputImage.Parse(text, "input_reference");
        }

        int? seconds = Single(form, "seconds") is { } secondsText ? ParseSeconds(secondsText) : null;
        long? seed = null;
        if (Single(form, "seed") is { } seedText)
        {
            seed = long.TryParse(seedText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                ? n
                : throw ReelayException.Invalid("seed", $"'seed' must be an integer (got '{Shown(seedText)}').");
        }

        var (webhook, events) = WebhookRequestFields.FromForm(form, dialect.Addresses, WebhookRequestFields.OpenAIEvents);
        return new JobRequest
        {
            Model = NotEmpty(form, "model") ?? dialect.Options.OpenAI.DefaultModel,
            Prompt = Single(form, "prompt"),
            DurationSeconds = seconds,
            Size = CheckSize(NotEmpty(form, "size")),
            Seed = seed,
            FirstFrame = image,
            CharacterIds = characters.Count > 0 ? CheckCharacters(characters) : null,
            Options = options.Count > 0 ? options : null,
            Metadata = metadata.Count > 0 ? CheckMetadata(metadata) : null,
            WebhookUrl = webhook,
            WebhookEvents = events,
            Owner = dialect.Owner,
            IdempotencyKey = dialect.IdempotencyKey,
            Dialect = Dialect,
        };
    }

    /// <summary>Reelay extension: <c>characters</c>, ids of characters made with POST /v1/videos/characters (strings or {"id": ...}).</summary>
    private static List<string>? Characters(JsonElement root)
    {
        if (!root.TryGetProperty("characters", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw ReelayException.Invalid("characters", $"'characters' must be an array of character ids (got {Kind(value)}).");
        }

        var ids = new List<string>();
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            ids.Add(item.ValueKind switch
            {
                JsonValueKind.String => item.GetString()!,
                JsonValueKind.Object when item.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String && item.EnumerateObject().Count() == 1 => id.GetString()!,
                _ => throw ReelayException.Invalid($"characters[{index}]", $"'characters[{index}]' must be a character id string or {{\"id\": \"char_...\"}}."),
            });
            index++;
        }

        return CheckCharacters(ids);
    }

    private static List<string> CheckCharacters(List<string> ids) =>
        ids.Count > Reelay.Engine.JobEngine.MaxCharacters
            ? throw ReelayException.Invalid("characters", $"At most {Reelay.Engine.JobEngine.MaxCharacters} characters may be referenced (got {ids.Count}).")
            : ids;

    /// <summary>The dotted spelling of a form key (options[bgm] → options.bgm), for error params.</summary>
    private static string FormParam(string key) =>
        TryIndexed(key, "options", out var o) ? "options." + o
        : TryIndexed(key, "metadata", out var m) ? "metadata." + m
        : key == "input_reference[image_url]" ? "input_reference.image_url"
        : key;

    private static string? Single(FormBody form, string key) => form.Values(key) is [var one, ..] ? one : null;

    /// <summary>A field that must not be empty when given: an empty value is refused, never replaced by the default.</summary>
    private static string? NotEmpty(FormBody form, string key) => Single(form, key) switch
    {
        null => null,
        "" => throw ReelayException.Invalid(key, $"'{key}' is empty; leave the field out to get the default, or give a value."),
        var value => value,
    };

    /// <summary>
    /// WIDTHxHEIGHT in plain digits with a lower-case x. The catalog would read "1280X720" or "01280x720" as 1280x720; a
    /// dialect refuses them rather than change what the client sent.
    /// </summary>
    internal static string? CheckSize(string? size)
    {
        if (size is null)
        {
            return null;
        }

        var x = size.IndexOf('x', StringComparison.Ordinal);
        var ok = x > 0 && x < size.Length - 1 && size[0] != '0' && size[x + 1] != '0'
            && size.AsSpan(0, x).IndexOfAnyExceptInRange('0', '9') < 0 && size.AsSpan(x + 1).IndexOfAnyExceptInRange('0', '9') < 0;
        return ok ? size : throw ReelayException.Invalid("size", $"size '{Shown(size)}' is not WIDTHxHEIGHT in digits with a lower-case x, such as 1280x720.");
    }

    private static string Shown(string text) => text.Length > 40 ? string.Concat(text.AsSpan(0, char.IsHighSurrogate(text[39]) ? 39 : 40), "…") : text;

    private static JsonElement ParseObject(string text)
    {
        using var document = JsonBody.ParseObject(System.Text.Encoding.UTF8.GetBytes(text), "input_reference");
        return document.RootElement.Clone();
    }

    private static bool TryIndexed(string key, string name, out string inner)
    {
        if (key.StartsWith(name + "[", StringComparison.Ordinal) && key.EndsWith(']') && key.Length > name.Length + 2)
        {
            inner = key[(name.Length + 1)..^1];
            return true;
        }

        inner = "";
        return false;
    }

    private static void RejectUnknown(string name)
    {
        if (!KnownFields.Contains(name))
        {
            throw ReelayException.Invalid(name, $"Unrecognized request argument supplied: '{name}'. Allowed: {string.Join(", ", KnownFields)}.");
        }
    }

    private static string? String(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw ReelayException.Invalid(name, $"'{name}' must be a string (got {Kind(value)}).");
    }

    private static int? Seconds(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => null,
        JsonValueKind.String => ParseSeconds(value.GetString()!),
        JsonValueKind.Number when value.TryGetInt32(out var n) => n,
        _ => throw ReelayException.Invalid("seconds", $"'seconds' must be a whole number of seconds as a string, e.g. \"8\" (got {Kind(value)})."),
    };

    private static int ParseSeconds(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw ReelayException.Invalid("seconds", $"'seconds' must be a whole number of seconds such as \"4\", \"8\" or \"12\" (got '{text}').");

    private static Dictionary<string, string>? Map(JsonElement root, string name, bool allowScalars)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw ReelayException.Invalid(name, $"'{name}' must be an object of {(allowScalars ? "option names to values" : "string keys to string values")}.");
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in value.EnumerateObject())
        {
            map[p.Name] = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString()!,
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False when allowScalars => p.Value.GetRawText(),
                _ => throw ReelayException.Invalid($"{name}.{p.Name}", $"'{name}.{p.Name}' must be a {(allowScalars ? "string, number or boolean" : "string")} (got {Kind(p.Value)})."),
            };
        }

        return name == "metadata" ? CheckMetadata(map) : map;
    }

    internal static Dictionary<string, string> CheckMetadata(Dictionary<string, string> map)
    {
        if (map.Count > 16)
        {
            throw ReelayException.Invalid("metadata", $"'metadata' has {map.Count} keys; at most 16 are allowed.");
        }

        foreach (var (key, value) in map)
        {
            if (key.Length > 64 || value.Length > 512)
            {
                throw ReelayException.Invalid($"metadata.{key}", "metadata keys may be at most 64 characters and values at most 512.");
            }
        }

        return map;
    }

    private static string Kind(JsonElement value) => JsonBody.Kind(value.ValueKind);
}
