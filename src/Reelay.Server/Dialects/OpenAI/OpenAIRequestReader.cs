using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Reelay.Jobs;
using Reelay.Net;
using Reelay.Server.Webhooks;

namespace Reelay.Server.Dialects.OpenAI;

/// <summary>Parses POST /v1/videos (JSON or multipart/form-data) into a canonical <see cref="JobRequest"/>.</summary>
internal static class OpenAIRequestReader
{
    private static readonly string[] KnownFields = ["model", "prompt", "seconds", "size", "input_reference", "seed", "options", "metadata", WebhookRequestFields.UrlField, WebhookRequestFields.EventsField];

    public static async Task<JobRequest> ReadAsync(HttpRequest request, string owner, string defaultModel, long maxImageBytes, AddressPolicy addresses, CancellationToken ct)
    {
        if (request.HasFormContentType)
        {
            return await ReadFormAsync(request, owner, defaultModel, maxImageBytes, addresses, ct).ConfigureAwait(false);
        }

        if (request.HasJsonContentType())
        {
            return await ReadJsonAsync(request, owner, defaultModel, addresses, ct).ConfigureAwait(false);
        }

        throw ReelayException.Invalid("Content-Type", $"Content-Type '{request.ContentType}' is not supported; send application/json or multipart/form-data.");
    }

    private static async Task<JobRequest> ReadJsonAsync(HttpRequest request, string owner, string defaultModel, AddressPolicy addresses, CancellationToken ct)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, default, ct).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw ReelayException.Invalid("body", $"The request body is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw ReelayException.Invalid("body", "The request body must be a JSON object.");
            }

            foreach (var property in root.EnumerateObject())
            {
                RejectUnknown(property.Name);
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

            var (webhook, events) = WebhookRequestFields.FromJson(root, addresses);
            return new JobRequest
            {
                Model = String(root, "model") ?? defaultModel,
                Prompt = String(root, "prompt"),
                DurationSeconds = Seconds(root.TryGetProperty("seconds", out var s) ? s : default),
                Size = String(root, "size"),
                Seed = root.TryGetProperty("seed", out var seed) && seed.ValueKind != JsonValueKind.Null
                    ? seed.ValueKind == JsonValueKind.Number && seed.TryGetInt64(out var n) ? n : throw ReelayException.Invalid("seed", "'seed' must be an integer.")
                    : null,
                FirstFrame = image,
                Options = Map(root, "options", allowScalars: true),
                Metadata = Map(root, "metadata", allowScalars: false),
                WebhookUrl = webhook,
                WebhookEvents = events,
                Owner = owner,
                IdempotencyKey = IdempotencyHeader.Read(request),
                Dialect = "openai",
            };
        }
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

    private static async Task<JobRequest> ReadFormAsync(HttpRequest request, string owner, string defaultModel, long maxImageBytes, AddressPolicy addresses, CancellationToken ct)
    {
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(ct).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            throw ReelayException.Invalid("body", $"The multipart body could not be read: {ex.Message}");
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        string? referenceUrl = null;
        foreach (var (key, value) in form)
        {
            if (TryIndexed(key, "options", out var option))
            {
                options[option] = value.ToString();
            }
            else if (TryIndexed(key, "metadata", out var meta))
            {
                metadata[meta] = value.ToString();
            }
            else if (key == "input_reference[image_url]")
            {
                referenceUrl = value.ToString();
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

        InputImage? image = null;
        var file = form.Files.GetFile("input_reference");
        foreach (var other in form.Files)
        {
            if (other.Name != "input_reference")
            {
                RejectUnknown(other.Name);
            }
        }

        if (file is not null)
        {
            if (file.Length > maxImageBytes)
            {
                throw new ReelayException(ErrorCodes.ImageInvalid, $"'input_reference' is {file.Length} bytes; at most {maxImageBytes} bytes are allowed.", "input_reference");
            }

            var bytes = new byte[file.Length];
            await using (var stream = file.OpenReadStream())
            {
                await stream.ReadExactlyAsync(bytes, ct).ConfigureAwait(false);
            }

            image = InputImage.FromBytes(bytes, "input_reference", file.ContentType, file.FileName);
        }
        else if (referenceUrl is not null || form.TryGetValue("input_reference", out _))
        {
            var text = referenceUrl ?? form["input_reference"].ToString();
            image = text.TrimStart().StartsWith('{') ? ReferenceObject(ParseObject(text)) : InputImage.Parse(text, "input_reference");
        }

        int? seconds = form.TryGetValue("seconds", out var secondsText) ? ParseSeconds(secondsText.ToString()) : null;
        long? seed = null;
        if (form.TryGetValue("seed", out var seedText))
        {
            seed = long.TryParse(seedText.ToString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                ? n
                : throw ReelayException.Invalid("seed", $"'seed' must be an integer (got '{seedText}').");
        }

        var (webhook, events) = WebhookRequestFields.FromForm(form, addresses);
        return new JobRequest
        {
            Model = NonEmpty(form, "model") ?? defaultModel,
            Prompt = form.TryGetValue("prompt", out var prompt) ? prompt.ToString() : null,
            DurationSeconds = seconds,
            Size = NonEmpty(form, "size"),
            Seed = seed,
            FirstFrame = image,
            Options = options.Count > 0 ? options : null,
            Metadata = metadata.Count > 0 ? CheckMetadata(metadata) : null,
            WebhookUrl = webhook,
            WebhookEvents = events,
            Owner = owner,
            IdempotencyKey = IdempotencyHeader.Read(request),
            Dialect = "openai",
        };
    }

    private static JsonElement ParseObject(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw ReelayException.Invalid("input_reference", "'input_reference' looks like JSON but is not valid JSON.");
        }
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

    private static string? NonEmpty(IFormCollection form, string key) =>
        form.TryGetValue(key, out var value) && !string.IsNullOrEmpty(value.ToString()) ? value.ToString() : null;

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

    private static Dictionary<string, string> CheckMetadata(Dictionary<string, string> map)
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

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        _ => "null",
    };
}
