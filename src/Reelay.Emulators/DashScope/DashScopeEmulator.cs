using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Reelay.Emulators.Kernel;
using static Reelay.Emulators.Kernel.JsonFields;

namespace Reelay.Emulators.DashScope;

/// <summary>
/// EMULATOR of Alibaba Model Studio / DashScope video synthesis (Wan; provider-apis-live.md §5), under /api/v1: POST
/// /services/aigc/video-generation/video-synthesis only with "X-DashScope-Async: enable" (403 AccessDenied otherwise),
/// in the body shape of the model's generation (legacy wan2.1-2.6: input.img_url, parameters.size "W*H" for text and
/// parameters.resolution for image; media wan2.7/wan3.0: input.media[{type,url}], parameters.resolution and ratio; the
/// other shape is a 400 InvalidParameter); GET /tasks/{id} (PENDING, RUNNING, SUCCEEDED with output.video_url, FAILED with
/// output.code/message flat in output and HTTP 200, CANCELED, UNKNOWN for ids it does not know), POST /tasks/{id}/cancel
/// (PENDING only), "Authorization: Bearer &lt;key&gt;", errors {"request_id","code","message"}. Reference-to-video
/// (wan2.6-r2v, wan2.6-r2v-flash; Model Studio's "Wan - reference-to-video (2.6)" page): input.reference_urls holds 1 to 5
/// references (image data URIs that must decode, or http(s) URLs; at most 3 of them videos), with a prompt,
/// parameters.size at 720P or 1080P and 2-10 s; no img_url or media; reference_urls on any other model is a 400. A
/// simulation of the documented wire format, not Alibaba's service.
/// </summary>
public sealed class DashScopeEmulator(EmulatorOptions? options = null) : UpstreamEmulator(options)
{
    private static readonly Dictionary<string, Dictionary<string, (int W, int H)>> Tiers = new(StringComparer.Ordinal)
    {
        ["480P"] = new() { ["16:9"] = (832, 480), ["9:16"] = (480, 832), ["1:1"] = (624, 624) },
        ["720P"] = new() { ["16:9"] = (1280, 720), ["9:16"] = (720, 1280), ["1:1"] = (960, 960), ["4:3"] = (1088, 832), ["3:4"] = (832, 1088) },
        ["1080P"] = new() { ["16:9"] = (1920, 1080), ["9:16"] = (1080, 1920), ["1:1"] = (1440, 1440), ["4:3"] = (1632, 1248), ["3:4"] = (1248, 1632) },
    };

    /// <inheritdoc />
    public override string Kind => "dashscope";

    /// <inheritdoc />
    public override string ApiBasePath => "api/v1/";

    /// <inheritdoc />
    protected override void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/api/v1/services/aigc/video-generation/video-synthesis", SubmitAsync);
        app.MapGet("/api/v1/tasks/{id}", TaskAsync);
        app.MapPost("/api/v1/tasks/{id}/cancel", CancelAsync);
    }

    /// <inheritdoc />
    protected override Task WriteErrorAsync(HttpContext context, int status, string message, string code)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (ds, text) = status switch
        {
            401 => ("InvalidApiKey", "Invalid API-key provided."),
            403 => ("Arrearage", "Access denied, please make sure your account is in good standing."),
            429 => ("Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
            >= 500 => ("InternalError", "An internal error has occured, please try again later."),
            _ => (code, message),
        };
        return ErrorAsync(context, status, ds, text);
    }

    private static Task ErrorAsync(HttpContext context, int status, string code, string message)
    {
        return WriteJsonAsync(context, status, new JsonObject { ["request_id"] = Guid.NewGuid().ToString(), ["code"] = code, ["message"] = message });
    }

    private static Task InvalidAsync(HttpContext context, string message) => ErrorAsync(context, 400, "InvalidParameter", message);

    private async Task SubmitAsync(HttpContext context)
    {
        if (!await AdmitAsync(context, FaultScope.Submit).ConfigureAwait(false))
        {
            return;
        }

        if (context.Request.Headers["X-DashScope-Async"].ToString() != "enable")
        {
            await ErrorAsync(context, 403, "AccessDenied", "current user api does not support synchronous calls").ConfigureAwait(false);
            return;
        }

        if (await ReadJsonAsync(context).ConfigureAwait(false) is not { } root)
        {
            await InvalidAsync(context, "The request body is not valid JSON.").ConfigureAwait(false);
            return;
        }

        var model = Str(root, "model") ?? "";
        var input = root.TryGetProperty("input", out var i) && i.ValueKind == JsonValueKind.Object ? i : default;
        var parameters = root.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        var media = model.StartsWith("wan2.7", StringComparison.Ordinal) || model.StartsWith("wan3", StringComparison.Ordinal);
        var legacy = model.StartsWith("wan2.", StringComparison.Ordinal) || model.StartsWith("wanx2.1", StringComparison.Ordinal);
        if (!media && !legacy)
        {
            await ErrorAsync(context, 404, "ModelNotFound", $"Model not exist: {model}").ConfigureAwait(false);
            return;
        }

        var image = model.Contains("-i2v", StringComparison.Ordinal);
        var reference = model.Contains("-r2v", StringComparison.Ordinal);
        var prompt = Str(input, "prompt");
        if (await ReferenceProblemAsync(context, model, reference, input).ConfigureAwait(false))
        {
            return;
        }

        string? imageValue;
        if (media)
        {
            if (Str(input, "img_url") is not null || Str(parameters, "size") is not null)
            {
                await InvalidAsync(context, $"{model} takes input.media and parameters.resolution, not img_url or size").ConfigureAwait(false);
                return;
            }

            imageValue = input.ValueKind == JsonValueKind.Object && input.TryGetProperty("media", out var m) && m.ValueKind == JsonValueKind.Array
                ? m.EnumerateArray().Where(x => Str(x, "type") == "first_frame").Select(x => Str(x, "url")).FirstOrDefault()
                : null;

            // provider-apis-live.md 5.3: wan2.7-i2v media combinations are first_frame [+ driving_audio], first_frame +
            // last_frame [+ driving_audio], first_clip [+ last_frame]; a last_frame must be a readable image.
            var all = input.ValueKind == JsonValueKind.Object && input.TryGetProperty("media", out var items) && items.ValueKind == JsonValueKind.Array ? items : default;
            List<string> types = all.ValueKind == JsonValueKind.Array ? all.EnumerateArray().Select(x => Str(x, "type") ?? "").ToList() : [];
            if (types.Any(t => t is not ("first_frame" or "last_frame" or "driving_audio" or "first_clip"))
                || types.Count(t => t is "first_frame" or "first_clip") > 1 || types.Count(t => t == "last_frame") > 1
                || (types.Contains("last_frame") && !types.Any(t => t is "first_frame" or "first_clip")) || (types.Count > 0 && !image))
            {
                await InvalidAsync(context, "input.media must be first_frame [+ driving_audio], first_frame + last_frame [+ driving_audio] or first_clip [+ last_frame], on an image-to-video model").ConfigureAwait(false);
                return;
            }

            var lastUrl = types.Contains("last_frame") ? all.EnumerateArray().Where(x => Str(x, "type") == "last_frame").Select(x => Str(x, "url")).First() : null;
            if (lastUrl is not null && (DecodeImage(lastUrl) is not { } lastBytes || ImageSize(lastBytes) is null) && !lastUrl.StartsWith("http", StringComparison.OrdinalIgnoreCase))
            {
                await InvalidAsync(context, "input.media last_frame is not a readable image").ConfigureAwait(false);
                return;
            }
        }
        else
        {
            if (input.ValueKind == JsonValueKind.Object && input.TryGetProperty("media", out _))
            {
                await InvalidAsync(context, $"{model} takes input.img_url, not input.media").ConfigureAwait(false);
                return;
            }

            imageValue = Str(input, "img_url");
        }

        if (image != (imageValue is not null) || (!image && string.IsNullOrWhiteSpace(prompt)))
        {
            await InvalidAsync(context, image ? "an image-to-video model needs the first frame" : "a text-to-video model needs a prompt and takes no image").ConfigureAwait(false);
            return;
        }

        var seconds = Int(parameters, "duration") ?? 5;
        // provider-apis-live.md 5.10: wan2.5 5 or 10 s; wan2.6 "up to 15" (the exact set is not verified: 2-15 taken);
        // wan2.6-r2v 2-10 s (Model Studio's reference-to-video page); the media generation 2-15 s.
        var wan26 = model.StartsWith("wan2.6", StringComparison.Ordinal);
        var (min, max) = media || (wan26 && !reference) ? (2, 15) : reference ? (2, 10) : (5, 10);
        if (seconds < min || seconds > max || (!media && !wan26 && seconds is not (5 or 10)))
        {
            await InvalidAsync(context, $"parameters.duration {seconds} is not supported by {model}").ConfigureAwait(false);
            return;
        }

        (int W, int H) size;
        if (!image && !media)
        {
            var text = Str(parameters, "size") ?? "1280*720";
            var match = Tiers.Values.SelectMany(t => t.Values).Where(s => $"{s.W}*{s.H}" == text).ToList();
            if (match.Count == 0)
            {
                await InvalidAsync(context, $"parameters.size {text} is not supported (use W*H from the size table)").ConfigureAwait(false);
                return;
            }

            size = match[0];
            if (reference && Tiers["480P"].ContainsValue(size))
            {
                await InvalidAsync(context, $"parameters.size {text} is not supported by {model} (720P or 1080P sizes only)").ConfigureAwait(false);
                return;
            }
        }
        else
        {
            var tier = Str(parameters, "resolution") ?? "720P";
            if (!Tiers.TryGetValue(tier, out var byRatio) || (media && tier == "480P"))
            {
                await InvalidAsync(context, $"parameters.resolution {tier} is not supported by {model}").ConfigureAwait(false);
                return;
            }

            string ratio;
            if (image)
            {
                if (DecodeImage(imageValue) is not { } bytes || ImageSize(bytes) is not { } frame)
                {
                    await InvalidAsync(context, "the first frame could not be read").ConfigureAwait(false);
                    return;
                }

                var target = Math.Log((double)frame.Width / frame.Height);
                ratio = byRatio.OrderBy(r => Math.Abs(Math.Log((double)r.Value.W / r.Value.H) - target)).First().Key;
            }
            else
            {
                ratio = Str(parameters, "ratio") ?? "16:9";
            }

            if (!byRatio.TryGetValue(ratio, out size))
            {
                await InvalidAsync(context, $"parameters.ratio {ratio} is not supported").ConfigureAwait(false);
                return;
            }
        }

        var task = AddTask(Guid.NewGuid().ToString(), model, prompt, size.W, size.H, seconds, image, new Dictionary<string, string> { ["shape"] = media ? "media" : reference ? "reference" : "legacy" });
        await context.Response.WriteAsJsonAsync(new JsonObject { ["output"] = new JsonObject { ["task_status"] = "PENDING", ["task_id"] = task.Id }, ["request_id"] = Guid.NewGuid().ToString() }, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Checks input.reference_urls against the model: required (1 to 5 strings, at most 3 videos) on a reference-to-video
    /// model, which takes no img_url or media, and refused elsewhere. True when a 400 was written.
    /// </summary>
    private static async Task<bool> ReferenceProblemAsync(HttpContext context, string model, bool reference, JsonElement input)
    {
        var has = input.ValueKind == JsonValueKind.Object && input.TryGetProperty("reference_urls", out var urls) && urls.ValueKind != JsonValueKind.Null;
        if (!reference)
        {
            if (has)
            {
                await InvalidAsync(context, $"input.reference_urls is not supported by {model}; use a reference-to-video model (wan2.6-r2v)").ConfigureAwait(false);
            }

            return has;
        }

        if (Str(input, "img_url") is not null || (input.ValueKind == JsonValueKind.Object && input.TryGetProperty("media", out _)))
        {
            await InvalidAsync(context, $"{model} takes input.reference_urls, not img_url or media").ConfigureAwait(false);
            return true;
        }

        if (string.IsNullOrWhiteSpace(Str(input, "prompt")))
        {
            await InvalidAsync(context, "input.prompt is required; name the references character1, character2, … in their order").ConfigureAwait(false);
            return true;
        }

        if (!has || input.GetProperty("reference_urls") is not { ValueKind: JsonValueKind.Array } list || list.GetArrayLength() is 0 or > 5)
        {
            await InvalidAsync(context, "input.reference_urls must be an array of 1 to 5 image or video URLs").ConfigureAwait(false);
            return true;
        }

        var index = 0;
        var videos = 0;
        foreach (var item in list.EnumerateArray())
        {
            var url = item.ValueKind == JsonValueKind.String ? item.GetString()! : null;
            var remote = url is not null && (url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("http://", StringComparison.OrdinalIgnoreCase));
            if (remote && (url!.EndsWith(".mp4", StringComparison.OrdinalIgnoreCase) || url.EndsWith(".mov", StringComparison.OrdinalIgnoreCase)))
            {
                videos++;
            }

            if (url is null || (!remote && (DecodeImage(url) is not { } bytes || ImageSize(bytes) is null)))
            {
                await InvalidAsync(context, $"input.reference_urls[{index}] is not a readable image or an http(s) URL").ConfigureAwait(false);
                return true;
            }

            index++;
        }

        if (videos > 3)
        {
            await InvalidAsync(context, "input.reference_urls may hold at most 3 videos").ConfigureAwait(false);
            return true;
        }

        return false;
    }

    private async Task TaskAsync(HttpContext context, string id)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        var output = new JsonObject { ["task_id"] = id };
        var reply = new JsonObject { ["request_id"] = Guid.NewGuid().ToString(), ["output"] = output };
        if (Tasks.Find(id) is not { } task)
        {
            output["task_status"] = "UNKNOWN";
            await context.Response.WriteAsJsonAsync(reply, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var now = Now;
        var (phase, _) = task.At(now);
        output["task_status"] = task.CancelledAt is not null ? "CANCELED" : phase switch { TaskPhase.Queued => "PENDING", TaskPhase.Running => "RUNNING", TaskPhase.Succeeded => "SUCCEEDED", _ => "FAILED" };
        output["submit_time"] = Local(task.CreatedAt);
        if (phase != TaskPhase.Queued)
        {
            output["scheduled_time"] = Local(task.CreatedAt + task.QueueTime);
        }

        if (task.FinishedAt(now) is { } end)
        {
            output["end_time"] = Local(end);
        }

        if (phase == TaskPhase.Succeeded)
        {
            output["video_url"] = ResultUrl(task);
            reply["usage"] = new JsonObject { ["duration"] = task.Seconds, ["output_video_duration"] = task.Seconds, ["size"] = $"{task.Width}*{task.Height}", ["video_count"] = 1, ["SR"] = Math.Min(task.Width, task.Height) };
        }
        else if (phase == TaskPhase.Failed && task.CancelledAt is null)
        {
            var moderated = task.Ending == TaskEnding.ModerationAtNinety;
            output["code"] = moderated ? "DataInspectionFailed" : "InternalError";
            output["message"] = moderated ? "Output data may contain inappropriate content." : "Video synthesis failed, please try again later.";
        }

        await context.Response.WriteAsJsonAsync(reply, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task CancelAsync(HttpContext context, string id)
    {
        if (!await AdmitAsync(context, FaultScope.Any).ConfigureAwait(false))
        {
            return;
        }

        if (Tasks.Find(id) is not { } task)
        {
            await ErrorAsync(context, 404, "NotFound", $"task {id} not found").ConfigureAwait(false);
            return;
        }

        if (task.At(Now).Phase != TaskPhase.Queued)
        {
            await ErrorAsync(context, 400, "UnsupportedOperation", "only PENDING tasks can be canceled").ConfigureAwait(false);
            return;
        }

        task.CancelledAt = Now;
        await context.Response.WriteAsJsonAsync(new JsonObject { ["request_id"] = Guid.NewGuid().ToString() }, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>DashScope's times: local strings without a zone (UTC+8 assumed).</summary>
    private static string Local(DateTimeOffset time) => time.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture);
}
