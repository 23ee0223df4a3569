using System.Globalization;
using System.Text.Json;
using Reelay.Catalog;
using Reelay.Jobs;
using Reelay.Server.Webhooks;

namespace Reelay.Server.Dialects.AimlApi;

/// <summary>
/// Parses POST /v2/video/generations (<c>{model, prompt, image_url, resolution, aspect_ratio, duration}</c>) into a
/// canonical <see cref="JobRequest"/>, checking AI/ML API's documented schema for its own model ids (required fields,
/// types, enums, defaults). Messages carry the detail only; the envelope adds "Body validation error! field:".
/// </summary>
internal sealed class AimlApiRequestReader : IDialectRequestReader
{
    /// <summary>The dialect's name on the jobs it creates.</summary>
    public const string Dialect = "aimlapi";

    // last_image_url and image_urls (reference images) are AI/ML API's own names on its Seedance 2.0 page
    // (aimlapi/api-docs, docs/api-references/video-models/ByteDance/seedance-2-0.json).
    private static readonly string[] Fields = ["model", "prompt", "image_url", "last_image_url", "image_urls", "resolution", "aspect_ratio", "duration", WebhookRequestFields.UrlField, WebhookRequestFields.EventsField];

    /// <summary>The most image_urls items read; the catalog then holds each model to its own limit.</summary>
    internal const int MaxImageUrls = 16;

    public static async Task<JobRequest> ReadAsync(DialectContext dialect)
    {
        var catalog = dialect.Catalog;
        JsonBody.RequireJsonContentType(dialect.Request);
        using (var document = await JsonBody.ReadObjectAsync(dialect.Request, dialect.Aborted, kind => $"Expected object, received {kind.Split(' ')[^1]}.").ConfigureAwait(false))
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw ReelayException.Invalid("body", $"Expected object, received {Kind(root)}.");
            }

            foreach (var property in root.EnumerateObject())
            {
                if (!Fields.Contains(property.Name))
                {
                    throw ReelayException.Invalid(property.Name, $"Unrecognized key '{property.Name}'; allowed keys: {string.Join(", ", Fields)}.");
                }
            }

            var modelName = String(root, "model") ?? throw ReelayException.Invalid("model", $"Required; expected {ModelChoices(catalog)}.");
            var model = AimlApiModels.Find(modelName, catalog)
                ?? throw new ReelayException(ErrorCodes.UnsupportedModel, $"Invalid enum value. Expected {ModelChoices(catalog)}, received '{modelName}'.", "model");
            var schema = model.Schema;

            var prompt = String(root, "prompt");
            if (schema is not null && prompt is null)
            {
                throw ReelayException.Invalid("prompt", $"Required: model '{modelName}' needs a text description of the video.");
            }

            var imageText = String(root, "image_url");
            if (model.Mode == VideoMode.TextToVideo && imageText is not null)
            {
                var i2v = modelName.Replace("-t2v", "-i2v", StringComparison.Ordinal);
                throw ReelayException.Invalid("image_url", $"Model '{modelName}' is text-to-video and takes no image_url; send the image to '{i2v}' instead.");
            }

            if (model.Mode == VideoMode.ImageToVideo && imageText is null)
            {
                throw ReelayException.Invalid("image_url", $"Required: model '{modelName}' makes video from an image; give an http(s) URL or a Base64-encoded image.");
            }

            var image = imageText is null ? null : InputImage.Parse(imageText, "image_url");
            var lastText = String(root, "last_image_url");
            var lastFrame = lastText is null ? null : InputImage.Parse(lastText, "last_image_url");
            var references = ImageUrls(root);
            var resolution = String(root, "resolution");
            var aspectRatio = String(root, "aspect_ratio");
            var duration = Duration(root);
            if (schema is not null)
            {
                resolution = Enum("resolution", resolution, schema.Resolutions) ?? schema.DefaultResolution;
                aspectRatio = Enum("aspect_ratio", aspectRatio, AimlApiModels.AspectRatios) ?? AimlApiModels.AspectRatios[0];
                if (duration is { } d && !AimlApiModels.Durations.Contains(d))
                {
                    throw ReelayException.Invalid("duration", $"Invalid enum value. Expected {string.Join(" | ", AimlApiModels.Durations)}, received {d}.");
                }

                duration ??= AimlApiModels.DefaultDuration;
            }

            var (webhook, events) = WebhookRequestFields.FromJson(root, dialect.Addresses);
            return new JobRequest
            {
                Model = model.CatalogModel,
                Mode = model.Mode ?? (image is null ? VideoMode.TextToVideo : VideoMode.ImageToVideo),
                Prompt = prompt,
                FirstFrame = image,
                LastFrame = lastFrame,
                ReferenceImages = references,
                DurationSeconds = duration,
                Resolution = resolution,
                AspectRatio = aspectRatio,
                WebhookUrl = webhook,
                WebhookEvents = events,
                Owner = dialect.Owner,
                IdempotencyKey = dialect.IdempotencyKey,
                Dialect = Dialect,
            };
        }
    }

    private static List<InputImage>? ImageUrls(JsonElement root)
    {
        if (!root.TryGetProperty("image_urls", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw ReelayException.Invalid("image_urls", $"Expected array, received {Kind(value)}.");
        }

        var count = value.GetArrayLength();
        if (count == 0)
        {
            throw ReelayException.Invalid("image_urls", "Array must contain at least 1 element(s); leave image_urls out for no reference images.");
        }

        if (count > MaxImageUrls)
        {
            throw ReelayException.Invalid("image_urls", $"Array must contain at most {MaxImageUrls} element(s) (got {count}).");
        }

        var images = new List<InputImage>(count);
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            var field = $"image_urls[{index++}]";
            images.Add(item.ValueKind == JsonValueKind.String
                ? InputImage.Parse(item.GetString()!, field)
                : throw ReelayException.Invalid(field, $"Expected string, received {Kind(item)}."));
        }

        return images;
    }

    private static string ModelChoices(ModelCatalog catalog) =>
        string.Join(" | ", AimlApiModels.AimlNames.Select(n => $"'{n}'"))
        + $" (or a Reelay catalog model: {string.Join(", ", catalog.Models.Select(m => m.Name).Order(StringComparer.Ordinal))})";

    private static string? Enum(string field, string? value, string[] allowed) =>
        value is null || allowed.Contains(value)
            ? value
            : throw ReelayException.Invalid(field, $"Invalid enum value. Expected {string.Join(" | ", allowed.Select(a => $"'{a}'"))}, received '{value}'.");

    private static string? String(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw ReelayException.Invalid(name, $"Expected string, received {Kind(value)}.");
    }

    /// <summary>
    /// An integer, or a string of digits: the documents' schema shows the default as the string "4", so clients generated
    /// from it may send one. Anything else is refused.
    /// </summary>
    private static int? Duration(JsonElement root)
    {
        if (!root.TryGetProperty("duration", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) && number == Math.Floor(number) && number is >= int.MinValue and <= int.MaxValue)
        {
            return (int)number;
        }

        if (value.ValueKind == JsonValueKind.String && int.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            return parsed;
        }

        throw ReelayException.Invalid("duration", $"Expected integer, received {Kind(value)} {value.GetRawText()}; give whole seconds, e.g. 4.");
    }

    /// <summary>AI/ML API names a JSON kind bare ("received number").</summary>
    private static string Kind(JsonElement value) => JsonBody.Kind(value.ValueKind).Split(' ')[^1];
}
