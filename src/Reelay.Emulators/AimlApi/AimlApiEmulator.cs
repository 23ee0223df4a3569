using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Reelay.Emulators.Kernel;

namespace Reelay.Emulators.AimlApi;

/// <summary>
/// EMULATOR of AI/ML API's video generation (provider-apis.md §2): POST /v2/video/generations and
/// GET /v2/video/generations?generation_id=, "Authorization: Bearer &lt;key&gt;", the four openai/sora-2[-pro]-{t2v,i2v}
/// models with their enums (resolution, aspect_ratio, integer duration 4|8|12), bytedance/seedance-2-0 and
/// minimax/hailuo-2.3 as their schemas give them, ids shaped "video_…:&lt;model&gt;",
/// statuses queued/generating/completed/error with video.url and error{name,message}, and AI/ML's error body
/// {message, path, requestId, statusCode, timestamp} with "Body validation error!" (400) and "You've run out of
/// credits" (403). A simulation of the documented wire format, not the service.
/// </summary>
public sealed class AimlApiEmulator(EmulatorOptions? options = null) : UpstreamEmulator(options)
{
    private static readonly Dictionary<string, (bool Image, string[] Resolutions, string DefaultResolution)> Models = new(StringComparer.Ordinal)
    {
        ["openai/sora-2-t2v"] = (false, ["720p"], "720p"),
        ["openai/sora-2-i2v"] = (true, ["720p"], "720p"),
        ["openai/sora-2-pro-t2v"] = (false, ["720p", "1080p"], "1080p"),
        ["openai/sora-2-pro-i2v"] = (true, ["720p", "1080p"], "1080p"),
    };

    /// <summary>
    /// The other video models on the same endpoint, as their schemas in aimlapi/api-docs give them (one id for both
    /// modes: image_url makes it image-to-video).
    /// </summary>
    private static readonly Dictionary<string, WireSchema> OtherModels = new(StringComparer.Ordinal)
    {
        ["bytedance/seedance-2-0"] = new(
            new("model", WireKind.String, true), new("provider", WireKind.String), new("prompt", WireKind.String, true),
            new("image_url", WireKind.ImageUrlOrDataUri), new("last_image_url", WireKind.ImageUrlOrDataUri), new("image_urls", WireKind.ImageUrlOrDataUriArray),
            new("aspect_ratio", WireKind.String, false, "21:9", "16:9", "4:3", "1:1", "3:4", "9:16"),
            new("resolution", WireKind.String, false, "480p", "720p", "1080p"), new("duration", WireKind.Integer, false, WireField.Range(4, 15)),
            new("generate_audio", WireKind.Boolean), new("seed", WireKind.Integer), new("watermark", WireKind.Boolean)),
        ["minimax/hailuo-2.3"] = new(
            new("model", WireKind.String, true), new("prompt", WireKind.String, true), new("image_url", WireKind.ImageUrlOrDataUri),
            new("duration", WireKind.Integer, false, "6", "10"), new("resolution", WireKind.String, false, "768P", "1080P"),
            new("prompt_optimizer", WireKind.Boolean)),
    };

    private static readonly string[] TextFields = ["model", "prompt", "resolution", "aspect_ratio", "duration"];
    private static readonly string[] ImageFields = ["model", "prompt", "image_url", "resolution", "aspect_ratio", "duration"];

    /// <inheritdoc />
    public override string Kind => "aimlapi";

    /// <inheritdoc />
    protected override void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/v2/video/generations", CreateAsync);
        app.MapGet("/v2/video/generations", FetchAsync);
    }

    /// <inheritdoc />
    protected override Task WriteErrorAsync(HttpContext context, int status, string message, string code)
    {
        ArgumentNullException.ThrowIfNull(context);
        // The kernel's faults come with generic words; AI/ML's documented messages replace them.
        var text = code switch
        {
            "auth_error" => "This request requires a valid API key. Pass it as 'Authorization: Bearer <key>'.",
            "forbidden" => "You've run out of credits. Please top up your balance to continue.",
            "rate_limit" => "Too Many Requests",
            "internal_error" => status switch
            {
                502 => "Bad Gateway",
                503 => "Service unavailable",
                504 => "Generation timeout",
                _ => "Something wrong with the server. Please, try again later.",
            },
            _ => message,
        };
        var body = new JsonObject
        {
            ["message"] = text,
            ["path"] = context.Request.Path.Value,
            ["requestId"] = Guid.NewGuid().ToString(),
            ["statusCode"] = status,
            ["timestamp"] = Now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        };
        return WriteJsonAsync(context, status, body);
    }

    private async Task CreateAsync(HttpContext context)
    {
        if (!await AdmitAsync(context, FaultScope.Submit).ConfigureAwait(false))
        {
            return;
        }

        if (await ReadJsonAsync(context).ConfigureAwait(false) is not { } root)
        {
            await InvalidAsync(context, "Unexpected token in JSON body").ConfigureAwait(false);
            return;
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            await InvalidAsync(context, "Expected object, received " + TypeName(root)).ConfigureAwait(false);
            return;
        }

        var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        if (model is not null && OtherModels.TryGetValue(model, out var schema))
        {
            await CreateOtherAsync(context, root, model, schema).ConfigureAwait(false);
            return;
        }

        if (model is null || !Models.TryGetValue(model, out var spec))
        {
            await InvalidAsync(context, $"model: Invalid enum value. Expected {string.Join(" | ", Models.Keys.Concat(OtherModels.Keys).Select(k => $"'{k}'"))}, received '{model}'").ConfigureAwait(false);
            return;
        }

        var allowed = spec.Image ? ImageFields : TextFields;
        var unknown = root.EnumerateObject().Select(p => p.Name).Where(n => !allowed.Contains(n)).ToList();
        if (unknown.Count > 0)
        {
            await InvalidAsync(context, $"Unrecognized key(s) in object: {string.Join(", ", unknown.Select(n => $"'{n}'"))}").ConfigureAwait(false);
            return;
        }

        if (!TryString(root, "prompt", required: true, out var prompt, out var problem)
            || !TryString(root, "image_url", required: spec.Image, out var image, out problem)
            || !TryString(root, "resolution", required: false, out var resolution, out problem)
            || !TryString(root, "aspect_ratio", required: false, out var aspect, out problem))
        {
            await InvalidAsync(context, problem!).ConfigureAwait(false);
            return;
        }

        resolution ??= spec.DefaultResolution;
        if (!spec.Resolutions.Contains(resolution))
        {
            await InvalidAsync(context, $"resolution: Invalid enum value. Expected {string.Join(" | ", spec.Resolutions.Select(r => $"'{r}'"))}, received '{resolution}'").ConfigureAwait(false);
            return;
        }

        aspect ??= "16:9";
        if (aspect is not ("16:9" or "9:16"))
        {
            await InvalidAsync(context, $"aspect_ratio: Invalid enum value. Expected '16:9' | '9:16', received '{aspect}'").ConfigureAwait(false);
            return;
        }

        var seconds = 4;
        if (root.TryGetProperty("duration", out var d))
        {
            if (d.ValueKind != JsonValueKind.Number)
            {
                await InvalidAsync(context, $"duration: Expected number, received {TypeName(d)}").ConfigureAwait(false);
                return;
            }

            if (!d.TryGetInt32(out seconds) || seconds is not (4 or 8 or 12))
            {
                await InvalidAsync(context, $"duration: Invalid enum value. Expected 4 | 8 | 12, received {d.GetRawText()}").ConfigureAwait(false);
                return;
            }
        }

        var (width, height) = (resolution, aspect) switch
        {
            ("1080p", "16:9") => (1792, 1024),
            ("1080p", _) => (1024, 1792),
            (_, "16:9") => (1280, 720),
            _ => (720, 1280),
        };
        if (spec.Image && Faults.RequireExactFirstFrameSize && DecodeImage(image) is { } bytes && ImageSize(bytes) is { } actual && actual != (width, height))
        {
            await WriteErrorAsync(context, 400, "Inpaint image must match the requested width and height", "param_error").ConfigureAwait(false);
            return;
        }

        var task = AddTask(NextId("video_") + ":" + model, model, prompt, width, height, seconds, image is not null);
        await context.Response.WriteAsJsonAsync(Render(task), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Seedance 2.0's image inputs (the AI/ML schema; the modes exclusive as on Ark, provider-apis-live.md 1.4): image_urls
    /// holds 1 to 9 readable reference images and goes with neither image_url nor last_image_url; last_image_url needs
    /// image_url; a data URI must decode to an image.
    /// </summary>
    private static string? SeedanceFramesProblem(JsonElement root)
    {
        var first = JsonFields.Str(root, "image_url");
        var last = JsonFields.Str(root, "last_image_url");
        var references = root.TryGetProperty("image_urls", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray().Select(r => r.GetString()!).ToList() : [];
        if (last is not null && first is null)
        {
            return "last_image_url: a last frame needs image_url (the first frame)";
        }

        if (references.Count > 0 && (first is not null || last is not null))
        {
            return "image_urls: reference images cannot be combined with image_url or last_image_url";
        }

        if (references.Count > 9)
        {
            return $"image_urls: Array must contain at most 9 element(s) (got {references.Count})";
        }

        static bool Unreadable(string? image) => image is not null && image.StartsWith("data:", StringComparison.Ordinal) && (DecodeImage(image) is not { } bytes || ImageSize(bytes) is null);
        if (Unreadable(last))
        {
            return "last_image_url: the image could not be read";
        }

        var bad = references.FindIndex(Unreadable);
        return bad >= 0 ? $"image_urls[{bad}]: the image could not be read" : null;
    }

    private async Task CreateOtherAsync(HttpContext context, JsonElement root, string model, WireSchema schema)
    {
        var problem = schema.Check(root);
        if (problem is null && model == "minimax/hailuo-2.3" && JsonFields.Int(root, "duration") == 10 && JsonFields.Str(root, "resolution") == "1080P")
        {
            problem = "resolution: 10 s videos are 768P only";
        }

        problem ??= model == "bytedance/seedance-2-0" ? SeedanceFramesProblem(root) : null;

        if (problem is not null)
        {
            await InvalidAsync(context, problem).ConfigureAwait(false);
            return;
        }

        var image = JsonFields.Str(root, "image_url");
        var resolution = (JsonFields.Str(root, "resolution") ?? (model.StartsWith("minimax/", StringComparison.Ordinal) ? "768P" : "720p")).ToLowerInvariant();
        var shortSide = resolution switch { "1080p" => 1080, "768p" => 768, "480p" => 480, _ => 720 };
        var ratio = JsonFields.Str(root, "aspect_ratio") switch
        {
            "9:16" => 9 / 16.0,
            "1:1" => 1.0,
            "4:3" => 4 / 3.0,
            "3:4" => 3 / 4.0,
            "21:9" => 21 / 9.0,
            "16:9" => 16 / 9.0,
            _ => DecodeImage(image) is { } bytes && ImageSize(bytes) is { } s ? (double)s.Width / s.Height : 16 / 9.0,
        };
        var (width, height) = ratio >= 1 ? (Even(shortSide * ratio), shortSide) : (shortSide, Even(shortSide / ratio));
        var prompt = JsonFields.Str(root, "prompt");
        var task = AddTask(NextId("video_") + ":" + model, model, prompt, width, height, JsonFields.Int(root, "duration") ?? (model.StartsWith("minimax/", StringComparison.Ordinal) ? 6 : 5), image is not null);
        await context.Response.WriteAsJsonAsync(Render(task), context.RequestAborted).ConfigureAwait(false);
    }

    private static int Even(double value) => Math.Max(2, (int)Math.Round(value / 2) * 2);

    private async Task FetchAsync(HttpContext context)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        var id = context.Request.Query["generation_id"].ToString();
        if (id.Length == 0)
        {
            await WriteErrorAsync(context, 400, "Query validation error! generation_id: Required", "param_error").ConfigureAwait(false);
            return;
        }

        if (Tasks.Find(id) is not { } task)
        {
            await WriteErrorAsync(context, 404, "Generation not found", "not_found").ConfigureAwait(false);
            return;
        }

        await context.Response.WriteAsJsonAsync(Render(task), context.RequestAborted).ConfigureAwait(false);
    }

    private JsonObject Render(EmulatedTask task)
    {
        var (phase, _) = task.At(Now);
        var body = new JsonObject
        {
            ["id"] = task.Id,
            ["status"] = phase switch { TaskPhase.Queued => "queued", TaskPhase.Running => "generating", TaskPhase.Succeeded => "completed", _ => "error" },
            ["video"] = phase == TaskPhase.Succeeded ? new JsonObject { ["url"] = ResultUrl(task) } : null,
            ["error"] = phase == TaskPhase.Failed
                ? task.Ending == TaskEnding.ModerationAtNinety
                    ? new JsonObject { ["name"] = "ModerationError", ["message"] = "The generated video was blocked by content moderation (output review)." }
                    : new JsonObject { ["name"] = "GenerationError", ["message"] = "Video generation failed, please try again." }
                : null,
            ["meta"] = phase == TaskPhase.Succeeded ? new JsonObject { ["usage"] = new JsonObject { ["credits_used"] = task.Seconds * 1000 } } : null,
        };
        return body;
    }

    private Task InvalidAsync(HttpContext context, string detail) => WriteErrorAsync(context, 400, "Body validation error! " + detail, "param_error");

    private static bool TryString(JsonElement root, string name, bool required, out string? value, out string? problem)
    {
        value = null;
        problem = null;
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            problem = required ? $"{name}: Required" : null;
            return !required;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            problem = $"{name}: Expected string, received {TypeName(element)}";
            return false;
        }

        value = element.GetString();
        return true;
    }

    private static string TypeName(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Array => "array",
        JsonValueKind.Null => "null",
        _ => "object",
    };
}
