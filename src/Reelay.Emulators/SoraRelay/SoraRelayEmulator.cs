using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Reelay.Emulators.Kernel;
using static Reelay.Emulators.Kernel.JsonFields;

namespace Reelay.Emulators.SoraRelay;

/// <summary>
/// EMULATOR of the "new-api"-style Sora relay (provider-apis.md §3): POST /v2/videos/generations with
/// {prompt, model, images, aspect_ratio, hd, duration (a string), notify_hook, watermark, private} answering {task_id},
/// and GET /v2/videos/generations/{task_id} answering {task_id, status NOT_START|IN_PROGRESS|SUCCESS|FAILURE, progress "NN%",
/// fail_reason, submit_time, start_time, finish_time, data:{output}}. "Authorization: Bearer &lt;key&gt;". Field types are
/// checked as a Go relay would (a number where a string belongs is a 400). hd is sora-2-pro only and has no effect at
/// 25 s; 25 s is sora-2-pro only. Task errors use {code, message, data:null}; the auth layer uses
/// {error:{message, type, code}}. The query reply and the error envelopes are not documented by the relay's pages: they
/// follow the client code and new-api pattern cited in provider-apis.md §3.3. A simulation, not the service.
/// </summary>
public sealed class SoraRelayEmulator(EmulatorOptions? options = null) : UpstreamEmulator(options)
{
    private static readonly string[] Durations = ["4", "8", "10", "12", "15", "25"];

    private static readonly Dictionary<string, JsonValueKind> FieldKinds = new(StringComparer.Ordinal)
    {
        ["prompt"] = JsonValueKind.String,
        ["model"] = JsonValueKind.String,
        ["images"] = JsonValueKind.Array,
        ["aspect_ratio"] = JsonValueKind.String,
        ["hd"] = JsonValueKind.True,
        ["duration"] = JsonValueKind.String,
        ["notify_hook"] = JsonValueKind.String,
        ["watermark"] = JsonValueKind.True,
        ["private"] = JsonValueKind.True,
        ["seed"] = JsonValueKind.Number,
        ["character_url"] = JsonValueKind.String,
        ["character_timestamps"] = JsonValueKind.String,
    };

    /// <inheritdoc />
    public override string Kind => "sora-relay";

    /// <inheritdoc />
    protected override void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/v2/videos/generations", CreateAsync);
        app.MapGet("/v2/videos/generations/{taskId}", QueryAsync);
    }

    /// <inheritdoc />
    protected override Task WriteErrorAsync(HttpContext context, int status, string message, string code)
    {
        ArgumentNullException.ThrowIfNull(context);
        JsonObject body = code switch
        {
            // The relay's token check runs before the task handler and speaks the OpenAI-style envelope.
            "auth_error" => new JsonObject { ["error"] = new JsonObject { ["message"] = "Invalid token", ["type"] = "new_api_error", ["code"] = "invalid_token" } },
            "forbidden" => new JsonObject { ["error"] = new JsonObject { ["message"] = "user quota is not enough", ["type"] = "new_api_error", ["code"] = "insufficient_user_quota" } },
            _ => new JsonObject { ["code"] = code, ["message"] = message, ["data"] = null },
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
            await InvalidAsync(context, "invalid character in request body: not valid JSON").ConfigureAwait(false);
            return;
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            await InvalidAsync(context, "json: cannot unmarshal non-object into Go value of type VideoRequest").ConfigureAwait(false);
            return;
        }

        foreach (var property in root.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Null && FieldKinds.TryGetValue(property.Name, out var kind) && !Same(kind, property.Value.ValueKind))
            {
                var go = kind switch { JsonValueKind.True => "bool", JsonValueKind.Array => "[]string", JsonValueKind.Number => "int", _ => "string" };
                await InvalidAsync(context, $"json: cannot unmarshal {GoKind(property.Value)} into Go struct field VideoRequest.{property.Name} of type {go}").ConfigureAwait(false);
                return;
            }
        }

        var prompt = Str(root, "prompt");
        var model = Str(root, "model");
        if (string.IsNullOrWhiteSpace(prompt))
        {
            await InvalidAsync(context, "prompt is required").ConfigureAwait(false);
            return;
        }

        if (model is not ("sora-2" or "sora-2-pro"))
        {
            await WriteErrorAsync(context, 400, $"model {model} is not supported: use sora-2 or sora-2-pro", "model_not_supported").ConfigureAwait(false);
            return;
        }

        var pro = model == "sora-2-pro";
        var duration = Str(root, "duration") ?? "10";
        if (!Durations.Contains(duration))
        {
            await InvalidAsync(context, $"duration must be one of \"10\", \"15\", \"25\" (or \"4\", \"8\", \"12\"); got \"{duration}\"").ConfigureAwait(false);
            return;
        }

        if (duration == "25" && !pro)
        {
            await InvalidAsync(context, "only sora-2-pro supports 25 seconds").ConfigureAwait(false);
            return;
        }

        var hd = root.TryGetProperty("hd", out var h) && h.ValueKind == JsonValueKind.True;
        if (hd && !pro)
        {
            await InvalidAsync(context, "hd is supported only by sora-2-pro").ConfigureAwait(false);
            return;
        }

        var aspect = Str(root, "aspect_ratio") ?? "16:9";
        if (aspect is not ("16:9" or "9:16"))
        {
            await InvalidAsync(context, $"aspect_ratio must be 16:9 or 9:16; got {aspect}").ConfigureAwait(false);
            return;
        }

        string? image = null;
        if (root.TryGetProperty("images", out var images) && images.ValueKind == JsonValueKind.Array)
        {
            if (images.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
            {
                await InvalidAsync(context, "json: cannot unmarshal non-string into Go struct field VideoRequest.images of type string").ConfigureAwait(false);
                return;
            }

            image = images.EnumerateArray().Select(e => e.GetString()).FirstOrDefault(s => !string.IsNullOrEmpty(s));
        }

        // "When set to 25, HD has no effect."
        var big = hd && duration != "25";
        var (width, height) = (big, aspect) switch
        {
            (true, "16:9") => (1792, 1024),
            (true, _) => (1024, 1792),
            (false, "16:9") => (1280, 720),
            _ => (720, 1280),
        };
        if (image is not null && Faults.RequireExactFirstFrameSize && DecodeImage(image) is { } bytes && ImageSize(bytes) is { } actual && actual != (width, height))
        {
            await InvalidAsync(context, $"Inpaint image must match the requested width and height. The image resolution must match the official parameters, for example {width}x{height}.").ConfigureAwait(false);
            return;
        }

        var task = AddTask(Guid.NewGuid().ToString(), model, prompt, width, height, int.Parse(duration, System.Globalization.CultureInfo.InvariantCulture), image is not null);
        await context.Response.WriteAsJsonAsync(new JsonObject { ["task_id"] = task.Id }, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task QueryAsync(HttpContext context, string taskId)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        if (Tasks.Find(taskId) is not { } task)
        {
            await WriteErrorAsync(context, 404, "task_not_exist", "task_not_exist").ConfigureAwait(false);
            return;
        }

        var now = Now;
        var (phase, progress) = task.At(now);
        var body = new JsonObject
        {
            ["task_id"] = task.Id,
            ["status"] = phase switch { TaskPhase.Queued => "NOT_START", TaskPhase.Running => "IN_PROGRESS", TaskPhase.Succeeded => "SUCCESS", _ => "FAILURE" },
            ["progress"] = $"{progress}%",
            ["fail_reason"] = phase != TaskPhase.Failed ? ""
                : task.Ending == TaskEnding.ModerationAtNinety ? "The generated video did not pass content moderation (output review) and was blocked."
                : task.CancelledAt is not null ? "task cancelled"
                : "Video generation failed, please try again",
            ["submit_time"] = task.CreatedAt.ToUnixTimeSeconds(),
            ["start_time"] = phase == TaskPhase.Queued ? 0 : (task.CreatedAt + task.QueueTime).ToUnixTimeSeconds(),
            ["finish_time"] = task.FinishedAt(now)?.ToUnixTimeSeconds() ?? 0,
            ["data"] = phase == TaskPhase.Succeeded ? new JsonObject { ["output"] = ResultUrl(task) } : null,
        };
        await context.Response.WriteAsJsonAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private Task InvalidAsync(HttpContext context, string message) => WriteErrorAsync(context, 400, message, "invalid_request");

    private static bool Same(JsonValueKind expected, JsonValueKind actual) =>
        expected == JsonValueKind.True ? actual is JsonValueKind.True or JsonValueKind.False : expected == actual;

    private static string GoKind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "bool",
        JsonValueKind.Array => "array",
        _ => "object",
    };
}
