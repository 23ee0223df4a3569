using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Reelay.Emulators.Kernel;
using static Reelay.Emulators.Kernel.JsonFields;

namespace Reelay.Emulators.Vidu;

/// <summary>
/// EMULATOR of Vidu's official API (provider-apis.md §5): POST /ent/v2/img2video and /ent/v2/text2video (JSON; fields
/// an endpoint does not take are refused as FieldUnwanted), GET /ent/v2/tasks/{id}/creations with the states created,
/// queueing, processing, success and failed, err_code on failure (CreationPolicyViolation when the output is moderated
/// at 90 %), creations[] with url, cover_url and watermarked_url behind expiring signed URLs (a new poll signs fresh
/// ones), GET /ent/v2/tasks (the account's tasks, newest first, each with its payload; filters task_ids and
/// created_at.from/created_at.to, pages pager.page and pager.pagesz; the shape third-party clients use, not in the
/// reference), and "Authorization: Token &lt;key&gt;". HTTP errors use {"code","reason","message","metadata"} with reasons from
/// Vidu's error-code table (not in the reference; taken from third-party copies). A simulation, not Vidu.
/// </summary>
public sealed class ViduEmulator(EmulatorOptions? options = null) : UpstreamEmulator(options)
{
    private static readonly string[] MovementAmplitudes = ["auto", "small", "medium", "large"];

    private static readonly string[] Img2VideoFields =
        ["model", "images", "prompt", "audio", "voice_id", "is_rec", "duration", "seed", "resolution", "movement_amplitude", "payload", "off_peak", "watermark", "wm_position", "wm_url", "meta_data", "callback_url"];

    private static readonly string[] Text2VideoFields =
        ["model", "style", "prompt", "duration", "seed", "aspect_ratio", "resolution", "movement_amplitude", "bgm", "payload", "off_peak", "watermark", "wm_position", "wm_url", "meta_data", "callback_url"];

    // model → (text, image, min s, max s, resolutions, default resolution)
    private static readonly Dictionary<string, (bool Text, bool Image, int Min, int Max, string[] Tiers, string Default)> Models = new(StringComparer.Ordinal)
    {
        ["viduq2-pro"] = (false, true, 1, 10, ["540p", "720p", "1080p"], "720p"),
        ["viduq2-turbo"] = (false, true, 1, 10, ["540p", "720p", "1080p"], "720p"),
        ["viduq2-pro-fast"] = (false, true, 1, 10, ["720p", "1080p"], "720p"),
        ["viduq2"] = (true, false, 1, 10, ["540p", "720p", "1080p"], "720p"),
        ["viduq1"] = (true, true, 5, 5, ["1080p"], "1080p"),
        ["viduq1-classic"] = (false, true, 5, 5, ["1080p"], "1080p"),
        ["vidu2.0"] = (false, true, 4, 8, ["360p", "720p", "1080p"], "720p"),
    };

    private long _nextId = 880_000_000_000_000_000; // Vidu task ids are long numeric strings

    /// <inheritdoc />
    public override string Kind => "vidu";

    /// <inheritdoc />
    protected override KeyScheme Scheme => KeyScheme.Token;

    /// <inheritdoc />
    protected override void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/ent/v2/img2video", context => CreateAsync(context, image: true));
        app.MapPost("/ent/v2/text2video", context => CreateAsync(context, image: false));
        app.MapGet("/ent/v2/tasks/{id}/creations", CreationsAsync);
        app.MapGet("/ent/v2/tasks", ListAsync);
    }

    /// <inheritdoc />
    protected override Task WriteErrorAsync(HttpContext context, int status, string message, string code)
    {
        ArgumentNullException.ThrowIfNull(context);
        // The kernel's generic faults as Vidu reasons.
        var (reason, text) = code switch
        {
            "rate_limit" => ("TooManyRequests", "too many requests"),
            "internal_error" => ("InternalServiceFailure", "internal service failure, please retry later"),
            "auth_error" => ("Unauthorized", "invalid api key"),
            "forbidden" => ("CreditInsufficient", "insufficient credits"),
            _ => (code, message),
        };
        var body = new JsonObject
        {
            ["code"] = status,
            ["reason"] = reason,
            ["message"] = text,
            ["metadata"] = new JsonObject { ["trace_id"] = Guid.NewGuid().ToString("N") },
        };
        return WriteJsonAsync(context, status, body);
    }

    private async Task CreateAsync(HttpContext context, bool image)
    {
        if (!await AdmitAsync(context, FaultScope.Submit).ConfigureAwait(false))
        {
            return;
        }

        if (await ReadJsonAsync(context).ConfigureAwait(false) is not { } root)
        {
            await WriteErrorAsync(context, 400, "request body is not valid json", "BadRequest").ConfigureAwait(false);
            return;
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            await WriteErrorAsync(context, 400, "request body must be a json object", "BadRequest").ConfigureAwait(false);
            return;
        }

        var allowed = image ? Img2VideoFields : Text2VideoFields;
        if (root.EnumerateObject().Select(p => p.Name).FirstOrDefault(n => !allowed.Contains(n)) is { } unwanted)
        {
            await WriteErrorAsync(context, 400, $"field {unwanted} is not accepted by this endpoint", "FieldUnwanted").ConfigureAwait(false);
            return;
        }

        var model = Str(root, "model");
        if (model is null)
        {
            await WriteErrorAsync(context, 400, "model is required", "FieldLacking").ConfigureAwait(false);
            return;
        }

        if (!Models.TryGetValue(model, out var spec) || (image ? !spec.Image : !spec.Text))
        {
            await WriteErrorAsync(context, 400, $"model {model} is not available for {(image ? "img2video" : "text2video")}", "ModelUnavailable").ConfigureAwait(false);
            return;
        }

        var prompt = Str(root, "prompt");
        if (!image && string.IsNullOrWhiteSpace(prompt))
        {
            await WriteErrorAsync(context, 400, "prompt is required", "FieldLacking").ConfigureAwait(false);
            return;
        }

        if (prompt is { Length: > 5000 })
        {
            await WriteErrorAsync(context, 400, "prompt is longer than 5000 characters", "FieldInvalid").ConfigureAwait(false);
            return;
        }

        var seconds = root.TryGetProperty("duration", out var d) && d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out var n) ? n : model == "vidu2.0" ? 4 : 5;
        if (seconds < spec.Min || seconds > spec.Max || (model == "vidu2.0" && seconds is not (4 or 8)))
        {
            await WriteErrorAsync(context, 400, $"duration {seconds} is invalid for model {model}", "FieldInvalid").ConfigureAwait(false);
            return;
        }

        var resolution = Str(root, "resolution") ?? spec.Default;
        if (!spec.Tiers.Contains(resolution) || (model == "vidu2.0" && seconds == 8 && resolution != "720p"))
        {
            await WriteErrorAsync(context, 400, $"resolution {resolution} is invalid for model {model} at {seconds}s", "FieldInvalid").ConfigureAwait(false);
            return;
        }

        if (Str(root, "movement_amplitude") is { } movement && !MovementAmplitudes.Contains(movement))
        {
            await WriteErrorAsync(context, 400, $"movement_amplitude {movement} is invalid", "FieldInvalid").ConfigureAwait(false);
            return;
        }

        var shortSide = int.Parse(resolution[..^1], CultureInfo.InvariantCulture);
        double ratio;
        if (image)
        {
            if (!root.TryGetProperty("images", out var images) || images.ValueKind != JsonValueKind.Array || images.GetArrayLength() != 1 || images[0].ValueKind != JsonValueKind.String)
            {
                await WriteErrorAsync(context, 400, "images must hold exactly 1 image", "FieldItemCountOutOfRange").ConfigureAwait(false);
                return;
            }

            var value = images[0].GetString()!;
            var bytes = DecodeImage(value);
            if (bytes is null && !value.StartsWith("http", StringComparison.OrdinalIgnoreCase))
            {
                await WriteErrorAsync(context, 400, "the image is neither a URL nor a base64 data URI", "ImageFormatInvalid").ConfigureAwait(false);
                return;
            }

            var size = bytes is null ? null : ImageSize(bytes);
            if (bytes is not null && size is null)
            {
                await WriteErrorAsync(context, 400, "the image is not png, jpeg or webp", "ImageFormatInvalid").ConfigureAwait(false);
                return;
            }

            if (size is { } s && (s.Width < 128 || s.Height < 128 || s.Width > 4 * s.Height || s.Height > 4 * s.Width))
            {
                await WriteErrorAsync(context, 400, "the image must be at least 128x128 with an aspect ratio within 1:4 and 4:1", "PageSizeOutOfRange").ConfigureAwait(false);
                return;
            }

            ratio = size is { } r ? (double)r.Width / r.Height : 16 / 9.0; // a URL is not fetched: assume landscape
        }
        else
        {
            var aspect = Str(root, "aspect_ratio") ?? "16:9";
            string[] aspects = model == "viduq2" ? ["16:9", "9:16", "3:4", "4:3", "1:1"] : ["16:9", "9:16", "1:1"];
            if (!aspects.Contains(aspect))
            {
                await WriteErrorAsync(context, 400, $"aspect_ratio {aspect} is invalid for model {model}", "FieldInvalid").ConfigureAwait(false);
                return;
            }

            var parts = aspect.Split(':');
            ratio = double.Parse(parts[0], CultureInfo.InvariantCulture) / double.Parse(parts[1], CultureInfo.InvariantCulture);
        }

        var (width, height) = ratio >= 1 ? (Even(shortSide * ratio), shortSide) : (shortSide, Even(shortSide / ratio));
        var seed = root.TryGetProperty("seed", out var sd) && sd.ValueKind == JsonValueKind.Number && sd.TryGetInt64(out var sv) && sv != 0 ? sv : Random.Shared.NextInt64(1, int.MaxValue);
        var payload = Str(root, "payload") ?? "";
        var bgm = root.TryGetProperty("bgm", out var bg) && bg.ValueKind == JsonValueKind.True;
        var task = AddTask(Interlocked.Increment(ref _nextId).ToString(CultureInfo.InvariantCulture), model, prompt, width, height, seconds, image,
            new Dictionary<string, string>(StringComparer.Ordinal) { ["payload"] = payload, ["bgm"] = bgm ? "true" : "false", ["resolution"] = resolution });

        // §5.3: Vidu POSTs the task (shaped like GET, with "status" beside "state") to callback_url; this EMULATOR
        // calls once, when the task ends, unsigned (Vidu's signature algorithm is not documented).
        CallBackWhenDone(task, Str(root, "callback_url"), t =>
        {
            var body = TaskJson(t);
            body["status"] = body["state"]?.GetValue<string>();
            return JsonPost(body);
        });
        var reply = new JsonObject
        {
            ["task_id"] = task.Id,
            ["state"] = "created",
            ["model"] = model,
            ["prompt"] = prompt ?? "",
            ["duration"] = seconds,
            ["seed"] = seed,
            ["resolution"] = resolution,
            ["movement_amplitude"] = Str(root, "movement_amplitude") ?? "auto",
            ["payload"] = payload,
            ["off_peak"] = false,
            ["credits"] = seconds * 4,
            ["created_at"] = Now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        };
        if (!image)
        {
            reply["aspect_ratio"] = Str(root, "aspect_ratio") ?? "16:9";
            reply["bgm"] = bgm;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(reply.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
    }

    private async Task CreationsAsync(HttpContext context, string id)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        if (Tasks.Find(id) is not { } task)
        {
            await WriteErrorAsync(context, 404, $"task {id} not found", "TaskNotFound").ConfigureAwait(false);
            return;
        }

        var (phase, _) = task.At(Now);
        var state = phase switch
        {
            TaskPhase.Queued => Now - task.CreatedAt < Options.QueueTime / 3 ? "created" : "queueing",
            TaskPhase.Running => "processing",
            TaskPhase.Succeeded => "success",
            _ => "failed",
        };
        var creations = new JsonArray();
        if (phase == TaskPhase.Succeeded)
        {
            // Freshly signed on every call, as Vidu does. The emulator renders no cover image: cover_url names the video.
            var url = ResultUrl(task);
            creations.Add(new JsonObject { ["id"] = task.Id + "-1", ["url"] = url, ["cover_url"] = url + "&cover=1", ["watermarked_url"] = url + "&wm=1" });
        }

        var reply = new JsonObject
        {
            ["id"] = task.Id,
            ["state"] = state,
            ["err_code"] = phase != TaskPhase.Failed ? ""
                : task.CancelledAt is not null ? "UserCancelled"
                : task.Ending == TaskEnding.ModerationAtNinety ? "CreationPolicyViolation"
                : "InternalServiceFailure",
            ["credits"] = phase == TaskPhase.Succeeded ? task.Seconds * 4 : 0,
            ["payload"] = task.Extra.GetValueOrDefault("payload") ?? "",
            ["bgm"] = task.Extra.GetValueOrDefault("bgm") == "true",
            ["off_peak"] = false,
            ["creations"] = creations,
        };
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(reply.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
    }

    private async Task ListAsync(HttpContext context)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        var query = context.Request.Query;
        var ids = query["task_ids"].SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToHashSet(StringComparer.Ordinal);
        DateTimeOffset? from = null, to = null;
        foreach (var (name, set) in new (string, Action<DateTimeOffset>)[] { ("created_at.from", v => from = v), ("created_at.to", v => to = v) })
        {
            if (query[name].ToString() is { Length: > 0 } text)
            {
                if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                {
                    await WriteErrorAsync(context, 400, $"{name} must be an ISO 8601 time", "FieldInvalid").ConfigureAwait(false);
                    return;
                }

                set(at);
            }
        }

        var page = int.TryParse(query["pager.page"], NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : 0;
        var size = int.TryParse(query["pager.pagesz"], NumberStyles.None, CultureInfo.InvariantCulture, out var z) ? Math.Clamp(z, 1, 100) : 20;
        var matching = Tasks.All
            .Where(t => (ids.Count == 0 || ids.Contains(t.Id)) && (from is null || t.CreatedAt >= from) && (to is null || t.CreatedAt <= to))
            .OrderByDescending(t => t.CreatedAt).ThenByDescending(t => t.Id, StringComparer.Ordinal)
            .ToList();
        var tasks = new JsonArray([.. matching.Skip(page * size).Take(size).Select(TaskJson)]);
        var more = matching.Count > (page + 1) * size;
        var reply = new JsonObject
        {
            ["tasks"] = tasks,
            ["next_page_token"] = more ? (page + 1).ToString(CultureInfo.InvariantCulture) : "",
        };
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(reply.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
    }

    private JsonObject TaskJson(EmulatedTask task)
    {
        var (phase, _) = task.At(Now);
        return new JsonObject
        {
            ["id"] = task.Id,
            ["state"] = phase switch
            {
                TaskPhase.Queued => "queueing",
                TaskPhase.Running => "processing",
                TaskPhase.Succeeded => "success",
                _ => "failed",
            },
            ["model"] = task.Model,
            ["prompt"] = task.Prompt ?? "",
            ["duration"] = task.Seconds,
            ["payload"] = task.Extra.GetValueOrDefault("payload") ?? "",
            ["credits"] = phase == TaskPhase.Succeeded ? task.Seconds * 4 : 0,
            ["created_at"] = task.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        };
    }

    private static int Even(double value) => Math.Max(2, (int)Math.Round(value / 2.0, MidpointRounding.AwayFromZero) * 2);
}
