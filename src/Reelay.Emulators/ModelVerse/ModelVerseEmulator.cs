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
        context.Response.StatusCode = status;
        return context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    private async Task SubmitAsync(HttpContext context)
    {
        if (!await AdmitAsync(context, FaultScope.Submit).ConfigureAwait(false))
        {
            return;
        }

        JsonElement root;
        try
        {
            root = (await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false)).RootElement;
        }
        catch (JsonException)
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
        else
        {
            await WriteErrorAsync(context, 400, $"No permission to use the model: apikey [...] not support model [{model}]", "model_error").ConfigureAwait(false);
            return;
        }

        var task = Tasks.Add(new EmulatedTask
        {
            Id = NextId("mv-"),
            Model = model,
            Prompt = prompt,
            Width = width,
            Height = height,
            Seconds = seconds,
            HasImage = firstFrame is not null,
            CreatedAt = Now,
            QueueTime = Options.QueueTime,
            RunTime = Options.RunTime,
            Ending = EndingFor(prompt),
        });
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

    private static (int, int) ParseSize(string size)
    {
        var parts = size.Split('x');
        return (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static int Even(double value) => ((int)Math.Round(value / 2)) * 2;
}
