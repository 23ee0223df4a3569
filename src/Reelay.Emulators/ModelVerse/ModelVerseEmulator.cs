using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Reelay.Emulators.Kernel;
using static Reelay.Emulators.Kernel.JsonFields;

namespace Reelay.Emulators.ModelVerse;

/// <summary>
/// EMULATOR of UCloud ModelVerse's task API (provider-apis.md §1): POST /v1/tasks/submit and
/// GET /v1/tasks/status?task_id=, "Authorization: &lt;key&gt;" (Bearer accepted), Pending/Running/Success/Failure with the
/// task failure inside HTTP 200, and the {"error":{message,type,param,code}} envelope whose param is a request id.
/// </summary>
public sealed class ModelVerseEmulator(EmulatorOptions? options = null) : UpstreamEmulator(options)
{
    private static readonly Dictionary<string, (bool Image, string[] Sizes)> SoraModels = new(StringComparer.Ordinal)
    {
        ["openai/sora-2/text-to-video"] = (false, ["720x1280", "1280x720"]),
        ["openai/sora-2/image-to-video"] = (true, ["720x1280", "1280x720"]),
        ["openai/sora-2/text-to-video-pro"] = (false, ["720x1280", "1280x720", "1024x1792", "1792x1024"]),
        ["openai/sora-2/image-to-video-pro"] = (true, ["720x1280", "1280x720", "1024x1792", "1792x1024"]),
    };

    private static readonly WireField[] Envelope = [new("model", WireKind.String, true), new("input", WireKind.Object), new("parameters", WireKind.Object)];

    /// <summary>
    /// The other video models of ModelVerse's task API, each as its page gives it (provider-apis.md §1.2): Kling,
    /// Veo, Hailuo, Wan and Seedance (the last from a third-party mirror of the docs).
    /// </summary>
    private static readonly Dictionary<string, WireSchema> OtherModels = new(StringComparer.Ordinal)
    {
        ["kling-v2-6"] = new([.. Envelope,
            new("input.prompt", WireKind.String, true), new("input.negative_prompt", WireKind.String),
            new("parameters.mode", WireKind.String, false, "std", "pro"), new("parameters.aspect_ratio", WireKind.String, false, "16:9", "9:16", "1:1"),
            new("parameters.duration", WireKind.Integer, false, "5", "10"), new("parameters.image", WireKind.ImageUrlOrRawBase64), new("parameters.image_tail", WireKind.ImageUrlOrRawBase64)]),
        ["veo-3.1-generate-001"] = Veo(),
        ["veo-3.1-fast-generate-001"] = Veo(),
        ["MiniMax-Hailuo-2.3"] = new([.. Envelope,
            new("input.prompt", WireKind.String), new("input.first_frame_image", WireKind.ImageUrlOrDataUri),
            new("parameters.duration", WireKind.Integer, false, "6", "10"), new("parameters.resolution", WireKind.String, false, "768P", "1080P"),
            new("parameters.prompt_optimizer", WireKind.Boolean), new("parameters.fast_pretreatment", WireKind.Boolean), new("parameters.aigc_watermark", WireKind.Boolean)]),
        ["MiniMax-Hailuo-02"] = new([.. Envelope,
            new("input.prompt", WireKind.String), new("input.first_frame_image", WireKind.ImageUrlOrDataUri), new("input.last_frame_image", WireKind.ImageUrlOrDataUri),
            new("parameters.duration", WireKind.Integer, false, "6", "10"), new("parameters.resolution", WireKind.String, false, "768P", "1080P"),
            new("parameters.prompt_optimizer", WireKind.Boolean), new("parameters.fast_pretreatment", WireKind.Boolean), new("parameters.aigc_watermark", WireKind.Boolean)]),
        ["Wan-AI/Wan2.5-T2V"] = new([.. Envelope,
            new("input.prompt", WireKind.String, true), new("input.audio_url", WireKind.String),
            new("parameters.size", WireKind.String, true, "832x480", "480x832", "1280x720", "720x1280", "1920x1080", "1080x1920"),
            new("parameters.duration", WireKind.Integer, false, "5", "10"), new("parameters.prompt_extend", WireKind.Boolean), new("parameters.seed", WireKind.Integer)]),
        ["Wan-AI/Wan2.5-I2V"] = new([.. Envelope,
            new("input.prompt", WireKind.String), new("input.first_frame_url", WireKind.ImageUrlOrDataUri, true), new("input.audio_url", WireKind.String),
            new("parameters.resolution", WireKind.String, true, "480p", "720p", "1080p"), new("parameters.duration", WireKind.Integer, false, "5", "10"),
            new("parameters.enable_prompt_expansion", WireKind.Boolean)]),
        ["Wan-AI/Wan2.6-T2V"] = new([.. Envelope,
            new("input.prompt", WireKind.String, true),
            new("parameters.size", WireKind.String, true, "1280x720", "720x1280", "1920x1080", "1080x1920"),
            new("parameters.duration", WireKind.Integer, false, "5", "10", "15"), new("parameters.prompt_extend", WireKind.Boolean),
            new("parameters.shot_type", WireKind.String, false, "single", "multi")]),
        ["Wan-AI/Wan2.6-I2V"] = new([.. Envelope,
            new("input.prompt", WireKind.String), new("input.img_url", WireKind.ImageUrlOrDataUri, true),
            new("parameters.resolution", WireKind.String, false, "720P", "1080P"), new("parameters.duration", WireKind.Integer, false, "5", "10", "15"),
            new("parameters.prompt_extend", WireKind.Boolean), new("parameters.shot_type", WireKind.String, false, "single", "multi"), new("parameters.seed", WireKind.Integer)]),
        ["doubao-seedance-2-0-260128"] = new([.. Envelope,
            new("input.content", WireKind.ObjectArray, true), new("input.content[].type", WireKind.String, true, "text", "image_url", "video_url", "audio_url"),
            new("input.content[].text", WireKind.String), new("input.content[].image_url", WireKind.Object), new("input.content[].image_url.url", WireKind.ImageUrlOrDataUri),
            new("input.content[].role", WireKind.String, false, "first_frame", "last_frame", "reference_image"),
            new("parameters.resolution", WireKind.String, false, "480p", "720p", "1080p"), new("parameters.ratio", WireKind.String, false, "16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"),
            new("parameters.duration", WireKind.Integer, false, WireField.Range(4, 15)), new("parameters.seed", WireKind.Integer), new("parameters.camera_fixed", WireKind.Boolean),
            new("parameters.watermark", WireKind.Boolean), new("parameters.generate_audio", WireKind.Boolean), new("parameters.execution_expires_after", WireKind.Integer)]),
    };

    private static readonly HashSet<string> ViduModels = new(StringComparer.Ordinal) { "viduq2-pro", "viduq2-turbo", "viduq2-pro-fast", "viduq3-pro" };

    /// <inheritdoc />
    public override string Kind => "modelverse";

    /// <inheritdoc />
    protected override KeyScheme Scheme => KeyScheme.RawOrBearer;

    /// <inheritdoc />
    protected override void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/v1/tasks/submit", SubmitAsync);
        app.MapGet("/v1/tasks/status", StatusAsync);
    }

    /// <inheritdoc />
    protected override Task WriteErrorAsync(HttpContext context, int status, string message, string code)
    {
        ArgumentNullException.ThrowIfNull(context);
        var type = status switch
        {
            400 => "invalid_request_error",
            401 => "invalid_request_error",
            403 => "permission_error",
            408 or 504 => "timeout",
            429 => "rate_limit_error",
            _ => "internal_error",
        };
        var body = new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = Guid.NewGuid().ToString(), ["code"] = code },
        };
        return WriteJsonAsync(context, status, body, contentType: null);
    }

    private async Task SubmitAsync(HttpContext context)
    {
        if (!await AdmitAsync(context, FaultScope.Submit).ConfigureAwait(false))
        {
            return;
        }

        if (await ReadJsonAsync(context).ConfigureAwait(false) is not { } root)
        {
            await WriteErrorAsync(context, 400, "Invalid param: body is not valid JSON", "param_error").ConfigureAwait(false);
            return;
        }

        var model = Str(root, "model");
        var input = root.TryGetProperty("input", out var i) && i.ValueKind == JsonValueKind.Object ? i : default;
        var parameters = root.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        var prompt = Str(input, "prompt");
        var firstFrame = Str(input, "first_frame_url");
        int width, height, seconds;
        if (model is not null && SoraModels.TryGetValue(model, out var sora))
        {
            if (sora.Image && firstFrame is null)
            {
                await WriteErrorAsync(context, 400, "Invalid param: input.first_frame_url is required", "param_error").ConfigureAwait(false);
                return;
            }

            if (!sora.Image && prompt is null)
            {
                await WriteErrorAsync(context, 400, "Invalid param: input.prompt is required", "param_error").ConfigureAwait(false);
                return;
            }

            var resolution = Str(parameters, "resolution");
            var size = Str(parameters, "size") ?? (resolution == "1080p" ? "1024x1792" : "720x1280");
            if (!sora.Sizes.Contains(size))
            {
                await WriteErrorAsync(context, 400, $"Invalid param: parameters.size must be one of {string.Join(", ", sora.Sizes)}", "param_error").ConfigureAwait(false);
                return;
            }

            seconds = Int(parameters, "duration") ?? 4;
            if (seconds is not (4 or 8 or 12))
            {
                await WriteErrorAsync(context, 400, "Invalid param: parameters.duration must be 4, 8 or 12", "param_error").ConfigureAwait(false);
                return;
            }

            (width, height) = ParseSize(size);
            if (sora.Image && Faults.RequireExactFirstFrameSize && DecodeImage(firstFrame) is { } bytes && ImageSize(bytes) is { } actual && actual != (width, height))
            {
                await WriteErrorAsync(context, 400, "Inpaint image must match the requested width and height", "param_error").ConfigureAwait(false);
                return;
            }
        }
        else if (model is not null && ViduModels.Contains(model))
        {
            if (Str(parameters, "vidu_type") != "img2video" || firstFrame is null)
            {
                await WriteErrorAsync(context, 400, "Invalid param: vidu_type img2video needs input.first_frame_url", "param_error").ConfigureAwait(false);
                return;
            }

            seconds = Int(parameters, "duration") ?? 5;
            var shortSide = Str(parameters, "resolution") switch { "540p" => 540, "1080p" => 1080, "360p" => 360, _ => 720 };
            var image = DecodeImage(firstFrame) is { } b ? ImageSize(b) : null;
            (width, height) = image is { } s && s.Height > s.Width
                ? (shortSide, Even(shortSide * s.Height / (double)s.Width))
                : image is { } w ? (Even(shortSide * w.Width / (double)w.Height), shortSide) : (Even(shortSide * 16 / 9.0), shortSide);
        }
        else if (model is not null && OtherModels.TryGetValue(model, out var schema))
        {
            if ((schema.Check(root) ?? OtherModelProblem(model, input, parameters)) is { } problem)
            {
                await WriteErrorAsync(context, 400, "Invalid param: " + problem, "param_error").ConfigureAwait(false);
                return;
            }

            prompt ??= input.ValueKind == JsonValueKind.Object && input.TryGetProperty("content", out var content)
                ? content.EnumerateArray().Select(c => Str(c, "text")).FirstOrDefault(t => t is not null)
                : null;
            firstFrame ??= Str(input, "first_frame_image") ?? Str(input, "img_url") ?? Str(parameters, "image") ?? SeedanceImage(input)
                ?? (input.ValueKind == JsonValueKind.Object && input.TryGetProperty("image", out var veoImage) ? Str(veoImage, "bytesBase64Encoded") : null);
            seconds = Int(parameters, "duration") ?? 5;
            (width, height) = OtherModelSize(parameters, firstFrame);
        }
        else
        {
            await WriteErrorAsync(context, 400, $"No permission to use the model: apikey [...] not support model [{model}]", "model_error").ConfigureAwait(false);
            return;
        }

        var task = AddTask(NextId("mv-"), model, prompt, width, height, seconds, firstFrame is not null);
        var reply = new JsonObject { ["output"] = new JsonObject { ["task_id"] = task.Id }, ["request_id"] = Guid.NewGuid().ToString() };
        await context.Response.WriteAsJsonAsync(reply, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task StatusAsync(HttpContext context)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        var id = context.Request.Query["task_id"].ToString();
        if (Tasks.Find(id) is not { } task)
        {
            await WriteErrorAsync(context, 404, $"task {id} not found", "not_found").ConfigureAwait(false);
            return;
        }

        var now = Now;
        var (phase, _) = task.At(now);
        var output = new JsonObject
        {
            ["task_id"] = task.Id,
            ["task_status"] = phase switch { TaskPhase.Queued => "Pending", TaskPhase.Running => "Running", TaskPhase.Succeeded => "Success", _ => "Failure" },
            ["submit_time"] = task.CreatedAt.ToUnixTimeSeconds(),
        };
        if (task.FinishedAt(now) is { } finished)
        {
            output["finish_time"] = finished.ToUnixTimeSeconds();
        }

        if (phase == TaskPhase.Succeeded)
        {
            output["urls"] = new JsonArray(ResultUrl(task));
        }
        else if (phase == TaskPhase.Failed)
        {
            output["error_message"] = task.Ending == TaskEnding.ModerationAtNinety
                ? "The generated video did not pass content moderation (output review)."
                : task.CancelledAt is not null ? "Task cancelled" : "Video generation failed, please try again";
        }

        var reply = new JsonObject { ["output"] = output, ["request_id"] = "" };
        if (phase is TaskPhase.Succeeded or TaskPhase.Failed)
        {
            reply["usage"] = new JsonObject { ["duration"] = task.Seconds };
        }

        await context.Response.WriteAsJsonAsync(reply, context.RequestAborted).ConfigureAwait(false);
    }

    private static WireSchema Veo() => new([.. Envelope,
        new("input.prompt", WireKind.String, true), new("input.negative_prompt", WireKind.String),
        new("input.image", WireKind.Object), new("input.image.bytesBase64Encoded", WireKind.RawBase64, true), new("input.image.mimeType", WireKind.String, true, "image/jpeg", "image/png", "image/webp"),
        new("input.last_frame", WireKind.Object), new("input.last_frame.bytesBase64Encoded", WireKind.RawBase64, true), new("input.last_frame.mimeType", WireKind.String, true, "image/jpeg", "image/png", "image/webp"),
        new("parameters.resolution", WireKind.String, false, "720p", "1080p"), new("parameters.duration", WireKind.Integer, false, "4", "6", "8"),
        new("parameters.aspect_ratio", WireKind.String, false, "16:9", "9:16"), new("parameters.generate_audio", WireKind.Boolean, true),
        new("parameters.person_generation", WireKind.String, false, "allow_adult", "dont_allow")]);

    /// <summary>The rules the pages state in words rather than in the field table.</summary>
    private static string? OtherModelProblem(string model, JsonElement input, JsonElement parameters)
    {
        if (model == "kling-v2-6" && Str(parameters, "mode") == "std")
        {
            return "parameters.mode std is not available for this model; use pro";
        }

        // The end frame goes with a first frame: Kling's parameters.image_tail with parameters.image, Veo's input.last_frame
        // with input.image (provider-apis.md 1.2); and it must be a readable image.
        if (model == "kling-v2-6" && Str(parameters, "image_tail") is { } tail)
        {
            if (Str(parameters, "image") is null)
            {
                return "parameters.image_tail needs parameters.image (the first frame)";
            }

            if (!tail.StartsWith("http", StringComparison.OrdinalIgnoreCase) && (DecodeImage(tail) is not { } tailBytes || ImageSize(tailBytes) is null))
            {
                return "parameters.image_tail is not a readable image";
            }
        }

        if (model.StartsWith("veo-", StringComparison.Ordinal) && input.ValueKind == JsonValueKind.Object && input.TryGetProperty("last_frame", out var last))
        {
            if (!input.TryGetProperty("image", out _))
            {
                return "input.last_frame needs input.image (the first frame)";
            }

            if (DecodeImage(Str(last, "bytesBase64Encoded")) is not { } lastBytes || ImageSize(lastBytes) is null)
            {
                return "input.last_frame.bytesBase64Encoded is not a readable image";
            }
        }

        if (model.StartsWith("doubao-seedance-", StringComparison.Ordinal) && SeedanceRolesProblem(input) is { } roles)
        {
            return roles;
        }

        if (model.StartsWith("MiniMax-Hailuo-", StringComparison.Ordinal) && Int(parameters, "duration") == 10 && Str(parameters, "resolution") == "1080P")
        {
            return "10 s videos are 768P only";
        }

        if (model.Contains("I2V", StringComparison.Ordinal) is false && model.StartsWith("Wan-AI/", StringComparison.Ordinal) && Str(input, "prompt") is null)
        {
            return "input.prompt is required";
        }

        return null;
    }

    /// <summary>The first frame of a Seedance content list: an image_url item with role first_frame or none.</summary>
    private static string? SeedanceImage(JsonElement input) =>
        SeedanceImages(input).Where(i => i.Role is null or "first_frame").Select(i => i.Url).FirstOrDefault();

    private static List<(string? Role, string? Url)> SeedanceImages(JsonElement input) =>
        input.ValueKind == JsonValueKind.Object && input.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array
            ? content.EnumerateArray().Where(c => Str(c, "type") == "image_url" && c.TryGetProperty("image_url", out _)).Select(c => (Str(c, "role"), Str(c.GetProperty("image_url"), "url"))).ToList()
            : [];

    /// <summary>
    /// Seedance's image roles as on Ark (provider-apis-live.md 1.4): first frame, first + last frame, or 1-9 reference
    /// images, the three exclusive; one first and one last frame at most; a data URI must decode to an image.
    /// </summary>
    private static string? SeedanceRolesProblem(JsonElement input)
    {
        var images = SeedanceImages(input);
        var firsts = images.Count(i => i.Role is null or "first_frame");
        var lasts = images.Count(i => i.Role == "last_frame");
        var references = images.Count(i => i.Role == "reference_image");
        if (firsts > 1 || lasts > 1)
        {
            return "input.content: at most one first_frame and one last_frame image";
        }

        if (lasts == 1 && firsts == 0)
        {
            return "input.content: a last_frame image needs a first_frame image";
        }

        if (references > 0 && firsts + lasts > 0)
        {
            return "input.content: reference_image images cannot be combined with first_frame or last_frame images";
        }

        if (references > 9)
        {
            return $"input.content: at most 9 reference_image images (got {references})";
        }

        return images.FirstOrDefault(i => i.Url is { } url && url.StartsWith("data:", StringComparison.Ordinal) && (DecodeImage(url) is not { } bytes || ImageSize(bytes) is null)) is { Url: not null } bad
            ? $"input.content: the {bad.Role ?? "first_frame"} image could not be read"
            : null;
    }

    /// <summary>The output size: an explicit size, else the short side of the tier (or Kling's mode) at the aspect ratio or the image's shape.</summary>
    private static (int Width, int Height) OtherModelSize(JsonElement parameters, string? firstFrame)
    {
        if (Str(parameters, "size") is { } size)
        {
            return ParseSize(size);
        }

        var tier = (Str(parameters, "resolution") ?? Str(parameters, "mode") ?? "720p").ToLowerInvariant();
        var shortSide = tier switch { "pro" or "1080p" => 1080, "768p" => 768, "480p" => 480, _ => 720 };
        var ratio = (Str(parameters, "aspect_ratio") ?? Str(parameters, "ratio")) switch
        {
            "9:16" => 9 / 16.0,
            "1:1" => 1.0,
            "4:3" => 4 / 3.0,
            "3:4" => 3 / 4.0,
            "21:9" => 21 / 9.0,
            "16:9" => 16 / 9.0,
            _ => DecodeImage(firstFrame) is { } bytes && ImageSize(bytes) is { } s ? (double)s.Width / s.Height : 16 / 9.0,
        };
        return ratio >= 1 ? (Even(shortSide * ratio), shortSide) : (shortSide, Even(shortSide / ratio));
    }

    private static (int, int) ParseSize(string size)
    {
        var parts = size.Split('x');
        return (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static int Even(double value) => ((int)Math.Round(value / 2)) * 2;
}
