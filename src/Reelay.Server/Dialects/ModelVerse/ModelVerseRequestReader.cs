using System.Text.Json;
using Reelay.Jobs;
using Reelay.Server.Webhooks;

namespace Reelay.Server.Dialects.ModelVerse;

/// <summary>Parses POST /v1/tasks/submit (<c>{model, input, parameters}</c>) into a canonical <see cref="JobRequest"/>.</summary>
internal sealed class ModelVerseRequestReader : IDialectRequestReader
{
    /// <summary>The dialect's name on the jobs it creates.</summary>
    public const string Dialect = "modelverse";

    private static readonly string[] TopFields = ["model", "input", "parameters", WebhookRequestFields.UrlField, WebhookRequestFields.EventsField];
    // input.last_frame_url is ModelVerse's own name for the last frame (its Vidu start-end2video and Wan2.2-I2V pages),
    // input.images its name for reference images (its Vidu reference2video page, 1-7 images); provider-apis.md, ModelVerse.
    private static readonly string[] InputFields = ["prompt", "first_frame_url", "last_frame_url", "images"];

    /// <summary>The most input.images items read; the catalog then holds each model to its own limit.</summary>
    internal const int MaxImages = 16;
    private static readonly string[] ParameterFields = ["size", "resolution", "duration", "seed", "movement_amplitude", "bgm", "vidu_type"];

    public static async Task<JobRequest> ReadAsync(DialectContext dialect)
    {
        JsonBody.RequireJsonContentType(dialect.Request);
        using (var document = await JsonBody.ReadObjectAsync(dialect.Request, dialect.Aborted).ConfigureAwait(false))
        {
            var root = Object(document.RootElement, "body", TopFields, "");
            var modelName = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()!
                : throw ReelayException.Invalid("model", $"'model' is required and must be a string; one of: {string.Join(", ", ModelVerseModels.All)}.");
            var model = ModelVerseModels.Find(modelName)
                ?? throw new ReelayException(ErrorCodes.UnsupportedModel, $"Model '{modelName}' is not offered; available: {string.Join(", ", ModelVerseModels.All)}.", "model");

            var input = root.TryGetProperty("input", out var i) && i.ValueKind != JsonValueKind.Null ? Object(i, "input", InputFields, "input.") : default;
            var parameters = root.TryGetProperty("parameters", out var p) && p.ValueKind != JsonValueKind.Null ? Object(p, "parameters", ParameterFields, "parameters.") : default;

            var frameText = String(input, "first_frame_url", "input.");
            var image = frameText is null ? null : InputImage.Parse(frameText, "input.first_frame_url");
            var lastText = String(input, "last_frame_url", "input.");
            var lastFrame = lastText is null ? null : InputImage.Parse(lastText, "input.last_frame_url");
            var references = Images(input);
            var mode = model.Mode ?? (image is null ? VideoMode.TextToVideo : VideoMode.ImageToVideo);
            if (model.Mode == VideoMode.TextToVideo && image is not null)
            {
                throw ReelayException.Invalid("first_frame", $"Model '{modelName}' is text-to-video and takes no input.first_frame_url; use the image-to-video model.");
            }

            var viduType = String(parameters, "vidu_type", "parameters.");
            if (model.Vidu && viduType != "img2video")
            {
                throw ReelayException.Invalid("vidu_type", viduType is null
                    ? $"parameters.vidu_type is required for model '{modelName}'; allowed: img2video."
                    : $"parameters.vidu_type '{viduType}' is not offered; allowed: img2video.");
            }

            if (!model.Vidu && viduType is not null)
            {
                throw ReelayException.Invalid("vidu_type", $"parameters.vidu_type is only for Vidu models, not '{modelName}'.");
            }

            var options = new Dictionary<string, string>(StringComparer.Ordinal);
            if (String(parameters, "movement_amplitude", "parameters.") is { } amplitude)
            {
                options["movement_amplitude"] = amplitude;
            }

            if (parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("bgm", out var bgm) && bgm.ValueKind != JsonValueKind.Null)
            {
                options["bgm"] = bgm.ValueKind is JsonValueKind.True or JsonValueKind.False
                    ? (bgm.GetBoolean() ? "true" : "false")
                    : throw ReelayException.Invalid("bgm", "parameters.bgm must be a boolean (true or false).");
            }

            var seed = Integer(parameters, "seed");
            var (webhook, events) = WebhookRequestFields.FromJson(root, dialect.Addresses);
            return new JobRequest
            {
                Model = model.CatalogModel,
                Mode = mode,
                Prompt = String(input, "prompt", "input."),
                FirstFrame = image,
                LastFrame = lastFrame,
                ReferenceImages = references,
                DurationSeconds = (int?)Integer(parameters, "duration"),
                Size = OpenAI.OpenAIRequestReader.CheckSize(String(parameters, "size", "parameters.")),
                Resolution = String(parameters, "resolution", "parameters."),
                // ModelVerse's seed 0 means "random": no seed.
                Seed = seed is 0 ? null : seed,
                Options = options.Count > 0 ? options : null,
                WebhookUrl = webhook,
                WebhookEvents = events,
                Owner = dialect.Owner,
                IdempotencyKey = dialect.IdempotencyKey,
                Dialect = Dialect,
            };
        }
    }

    private static List<InputImage>? Images(JsonElement input)
    {
        if (input.ValueKind != JsonValueKind.Object || !input.TryGetProperty("images", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() is 0 or > MaxImages)
        {
            throw ReelayException.Invalid("input.images", $"'input.images' must be an array of 1 to {MaxImages} image URLs or data URIs.");
        }

        var images = new List<InputImage>();
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            var field = $"input.images[{index++}]";
            images.Add(item.ValueKind == JsonValueKind.String
                ? InputImage.Parse(item.GetString()!, field)
                : throw ReelayException.Invalid(field, $"'{field}' must be a string (an http(s) URL or a data URI)."));
        }

        return images;
    }

    private static JsonElement Object(JsonElement element, string name, string[] allowed, string prefix)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw ReelayException.Invalid(name, name == "body" ? "The request body must be a JSON object." : $"'{name}' must be an object.");
        }

        foreach (var property in element.EnumerateObject())
        {
            if (!allowed.Contains(property.Name))
            {
                throw ReelayException.Invalid(prefix + property.Name, $"'{prefix}{property.Name}' is not recognised; allowed: {string.Join(", ", allowed.Select(a => prefix + a))}.");
            }
        }

        return element;
    }

    private static string? String(JsonElement parent, string name, string prefix)
    {
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw ReelayException.Invalid(name, $"'{prefix}{name}' must be a string.");
    }

    private static long? Integer(JsonElement parameters, string name)
    {
        if (parameters.ValueKind != JsonValueKind.Object || !parameters.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) && n is >= int.MinValue and <= int.MaxValue)
        {
            return n;
        }

        throw ReelayException.Invalid(name, $"'parameters.{name}' must be an integer (got {value.GetRawText()}).");
    }

    /// <summary>The ModelVerse spelling of a canonical field name, for messages.</summary>
    public static string FieldPath(string? canonical) => canonical switch
    {
        null => "",
        "first_frame" => "input.first_frame_url",
        "last_frame_url" => "input.last_frame_url",
        "prompt" => "input.prompt",
        "duration" or "size" or "resolution" or "seed" or "movement_amplitude" or "bgm" or "vidu_type" or "aspect_ratio" => "parameters." + canonical,
        _ => canonical,
    };
}
