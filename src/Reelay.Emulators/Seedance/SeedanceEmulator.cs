using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Reelay.Emulators.Kernel;
using static Reelay.Emulators.Kernel.JsonFields;

namespace Reelay.Emulators.Seedance;

/// <summary>
/// EMULATOR of ByteDance Seedance on BytePlus ModelArk / Volcengine Ark (provider-apis-live.md §1), under /api/v3:
/// POST /contents/generations/tasks (model, content[] of text and image_url items with the roles first_frame, last_frame
/// and reference_image, mutually exclusive; strict body fields resolution, ratio, duration, seed, camera_fixed, watermark,
/// generate_audio, execution_expires_after, callback_url), GET /contents/generations/tasks/{id} (queued, running,
/// succeeded, failed with error{code,message}, cancelled, expired once queued+running exceeds execution_expires_after),
/// GET /contents/generations/tasks (page_num, page_size, filter.status, filter.task_ids), DELETE of a queued task
/// (cancelled) or of a finished one (record deleted), "Authorization: Bearer &lt;key&gt;", the
/// {"error":{code,message,param,type}} envelope, and presigned-style result URLs. Output moderation at 90 % fails with
/// OutputVideoSensitiveContentDetected. A simulation of the documented wire format, not ByteDance's service.
/// </summary>
public sealed class SeedanceEmulator(EmulatorOptions? options = null) : UpstreamEmulator(options)
{
    private static readonly string[] Ratios = ["21:9", "16:9", "4:3", "1:1", "3:4", "9:16", "adaptive"];

    // Pixel sizes per resolution and ratio (§1.3): the 2.0 series and 1.5 pro share one table, the 1.0 series has its own.
    private static readonly Dictionary<string, Dictionary<string, (int W, int H)>> Series2 = new(StringComparer.Ordinal)
    {
        ["480p"] = new() { ["16:9"] = (864, 496), ["9:16"] = (496, 864), ["4:3"] = (752, 560), ["1:1"] = (640, 640), ["3:4"] = (560, 752), ["21:9"] = (992, 432) },
        ["720p"] = new() { ["16:9"] = (1280, 720), ["9:16"] = (720, 1280), ["4:3"] = (1112, 834), ["1:1"] = (960, 960), ["3:4"] = (834, 1112), ["21:9"] = (1470, 630) },
        ["1080p"] = new() { ["16:9"] = (1920, 1080), ["9:16"] = (1080, 1920), ["4:3"] = (1664, 1248), ["1:1"] = (1440, 1440), ["3:4"] = (1248, 1664), ["21:9"] = (2206, 946) },
    };

    private static readonly Dictionary<string, Dictionary<string, (int W, int H)>> Series1 = new(StringComparer.Ordinal)
    {
        ["480p"] = new() { ["16:9"] = (864, 480), ["9:16"] = (480, 864), ["4:3"] = (736, 544), ["1:1"] = (640, 640), ["3:4"] = (544, 736), ["21:9"] = (960, 416) },
        ["720p"] = new() { ["16:9"] = (1248, 704), ["9:16"] = (704, 1248), ["4:3"] = (1120, 832), ["1:1"] = (960, 960), ["3:4"] = (832, 1120), ["21:9"] = (1504, 640) },
        ["1080p"] = new() { ["16:9"] = (1920, 1088), ["9:16"] = (1088, 1920), ["4:3"] = (1664, 1248), ["1:1"] = (1440, 1440), ["3:4"] = (1248, 1664), ["21:9"] = (2176, 928) },
    };

    /// <inheritdoc />
    public override string Kind => "seedance";

    /// <inheritdoc />
    public override string ApiBasePath => "api/v3/";

    /// <inheritdoc />
    protected override void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/api/v3/contents/generations/tasks", CreateAsync);
        app.MapGet("/api/v3/contents/generations/tasks/{id}", GetAsync);
        app.MapGet("/api/v3/contents/generations/tasks", ListAsync);
        app.MapDelete("/api/v3/contents/generations/tasks/{id}", DeleteAsync);
    }

    /// <inheritdoc />
    protected override Task WriteErrorAsync(HttpContext context, int status, string message, string code) =>
        WriteArkErrorAsync(context, status, status switch
        {
            401 => "AuthenticationError",
            403 => "AccountOverdueError",
            404 => "NotFound",
            429 => "RateLimitExceeded.EndpointRPMExceeded",
            >= 500 => "InternalServiceError",
            _ => code,
        }, status switch
        {
            401 => "The API key or AK/SK in the request is missing or invalid.",
            403 => "Your account has an overdue balance; top up to continue.",
            429 => "Your request has exceeded the RPM limit of the endpoint. Please try again later.",
            _ => message,
        }, null);

    private static Task WriteArkErrorAsync(HttpContext context, int status, string code, string message, string? param)
    {
        var type = status switch { 400 => "BadRequest", 401 => "Unauthorized", 403 => "Forbidden", 404 => "NotFound", 429 => "TooManyRequests", _ => "InternalServerError" };
        var error = new JsonObject { ["code"] = code, ["message"] = $"{message} Request ID: {Guid.NewGuid():N}", ["type"] = type };
        if (param is not null)
        {
            error["param"] = param;
        }

        return WriteJsonAsync(context, status, new JsonObject { ["error"] = error });
    }

    private static Task InvalidAsync(HttpContext context, string param, string message) =>
        WriteArkErrorAsync(context, 400, "InvalidParameter", $"The parameter `{param}` specified in the request is not valid: {message}.", param);

    private async Task CreateAsync(HttpContext context)
    {
        if (!await AdmitAsync(context, FaultScope.Submit).ConfigureAwait(false))
        {
            return;
        }

        if (await ReadJsonAsync(context).ConfigureAwait(false) is not { } root)
        {
            await WriteArkErrorAsync(context, 400, "InvalidParameter", "The request body is not valid JSON.", null).ConfigureAwait(false);
            return;
        }

        var model = Str(root, "model");
        var family = Family(model);
        if (model is null || family is null)
        {
            await WriteArkErrorAsync(context, 404, "InvalidEndpoint.NotFound", $"The model or endpoint {model} does not exist or you do not have access to it.", "model").ConfigureAwait(false);
            return;
        }

        if (!root.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array || content.GetArrayLength() == 0)
        {
            await WriteArkErrorAsync(context, 400, "MissingParameter", "The request is missing the required parameter `content`.", "content").ConfigureAwait(false);
            return;
        }

        string? prompt = null;
        var roles = new List<string>();
        var unnamedRoles = 0;
        (int W, int H)? firstImage = null;
        foreach (var item in content.EnumerateArray())
        {
            switch (Str(item, "type"))
            {
                case "text":
                    prompt = Str(item, "text");
                    break;
                case "image_url":
                    var url = item.TryGetProperty("image_url", out var iu) ? Str(iu, "url") : null;
                    if (url is null)
                    {
                        await InvalidAsync(context, "content.image_url.url", "an image_url item needs a url").ConfigureAwait(false);
                        return;
                    }

                    if (DecodeImage(url) is { } bytes)
                    {
                        if (ImageSize(bytes) is not { } size)
                        {
                            await InvalidAsync(context, "content.image_url", "the image could not be decoded").ConfigureAwait(false);
                            return;
                        }

                        var ratio = (double)size.Width / size.Height;
                        if (size.Width is < 300 or > 6000 || size.Height is < 300 or > 6000 || ratio <= 0.4 || ratio >= 2.5)
                        {
                            await InvalidAsync(context, "content.image_url", "image sides must be 300-6000 px and the ratio between 0.4 and 2.5").ConfigureAwait(false);
                            return;
                        }

                        firstImage ??= size;
                    }

                    roles.Add(Str(item, "role") ?? "first_frame");
                    unnamedRoles += Str(item, "role") is null ? 1 : 0;
                    break;
                default:
                    await InvalidAsync(context, "content.type", $"'{Str(item, "type")}' is not a content type this emulator takes (text, image_url)").ConfigureAwait(false);
                    return;
            }
        }

        var refs = roles.Count(r => r == "reference_image");
        var frames = roles.Count(r => r is "first_frame" or "last_frame");
        if ((refs > 0 && frames > 0) || roles.Any(r => r is not ("first_frame" or "last_frame" or "reference_image"))
            || (frames == 2 && !(roles.Contains("first_frame") && roles.Contains("last_frame"))) || frames > 2)
        {
            await InvalidAsync(context, "content.role", "first frame, first+last frame and reference images are mutually exclusive; first+last needs one first_frame and one last_frame").ConfigureAwait(false);
            return;
        }

        if (refs > 0 && !(model.Contains("lite-i2v", StringComparison.Ordinal) || model.Contains("seedance-2", StringComparison.Ordinal)))
        {
            await InvalidAsync(context, "content.role", $"model {model} does not take reference images").ConfigureAwait(false);
            return;
        }

        // provider-apis-live.md 1.3/1.4: lite-i2v takes 1-4 reference images, 2.0 1-9, 2.5 1-30; first+last needs both roles
        // named, a last frame needs a first frame, and 1.0-pro-fast and lite-t2v take no last frame.
        var maxRefs = model.Contains("lite-i2v", StringComparison.Ordinal) ? 4 : model.Contains("seedance-2-5", StringComparison.Ordinal) ? 30 : 9;
        if (refs > maxRefs)
        {
            await InvalidAsync(context, "content.role", $"model {model} takes at most {maxRefs} reference_image items (got {refs})").ConfigureAwait(false);
            return;
        }

        if (roles.Contains("last_frame") && (!roles.Contains("first_frame") || unnamedRoles > 0))
        {
            await InvalidAsync(context, "content.role", "a last_frame needs a first_frame, and both images of first+last need their role").ConfigureAwait(false);
            return;
        }

        if (roles.Contains("last_frame") && (model.Contains("pro-fast", StringComparison.Ordinal) || model.Contains("-t2v-", StringComparison.Ordinal)))
        {
            await InvalidAsync(context, "content.role", $"model {model} does not take a last_frame").ConfigureAwait(false);
            return;
        }

        if (prompt is null && roles.Count == 0)
        {
            await InvalidAsync(context, "content", "give a text prompt or an image").ConfigureAwait(false);
            return;
        }

        var resolution = Str(root, "resolution") ?? (family == "1" ? "1080p" : "720p");
        var table = family == "1" ? Series1 : Series2;
        if (!table.TryGetValue(resolution, out var byRatio) || (model.Contains("fast-26", StringComparison.Ordinal) && resolution == "1080p"))
        {
            await InvalidAsync(context, "resolution", $"resolution {resolution} is not offered by {model}").ConfigureAwait(false);
            return;
        }

        var ratioText = Str(root, "ratio") ?? (roles.Count > 0 ? "adaptive" : "16:9");
        if (!Ratios.Contains(ratioText))
        {
            await InvalidAsync(context, "ratio", $"ratio must be one of {string.Join(", ", Ratios)}").ConfigureAwait(false);
            return;
        }

        var (min, max) = family switch { "2" => (4, 15), "1.5" => (4, 12), _ => (2, 12) };
        var duration = Int(root, "duration") ?? 5;
        if (duration < min || duration > max)
        {
            await InvalidAsync(context, "duration", $"duration {duration} is not in [{min}, {max}] for {model}").ConfigureAwait(false);
            return;
        }

        var expiresAfter = Int(root, "execution_expires_after") ?? 172_800;
        if (expiresAfter is < 3600 or > 259_200)
        {
            await InvalidAsync(context, "execution_expires_after", "must be between 3600 and 259200").ConfigureAwait(false);
            return;
        }

        if (ratioText == "adaptive")
        {
            ratioText = firstImage is { } f ? Closest(byRatio.Keys, f.W, f.H) : "16:9";
        }

        var (width, height) = byRatio[ratioText];
        var extra = new Dictionary<string, string>
        {
            ["resolution"] = resolution,
            ["ratio"] = ratioText,
            ["roles"] = string.Join(",", roles),
            ["expires_after"] = expiresAfter.ToString(CultureInfo.InvariantCulture),
        };
        if (root.TryGetProperty("seed", out var seed) && seed.ValueKind == JsonValueKind.Number)
        {
            extra["seed"] = seed.GetRawText();
        }

        var task = AddTask(NextId($"cgt-{Now:yyyyMMddHHmmss}-"), model, prompt, width, height, duration, roles.Count > 0, extra);

        // §1.11: Ark POSTs the task (the GET body) to callback_url; this EMULATOR calls once, when the task ends.
        CallBackWhenDone(task, root.TryGetProperty("callback_url", out var callback) && callback.ValueKind == JsonValueKind.String ? callback.GetString() : null, t => JsonPost(Render(t)));
        await context.Response.WriteAsJsonAsync(new JsonObject { ["id"] = task.Id }, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task GetAsync(HttpContext context, string id)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        if (Tasks.Find(id) is not { } task || task.Extra.ContainsKey("deleted"))
        {
            await WriteArkErrorAsync(context, 404, "ResourceNotFound", $"The specified task {id} is not found.", "id").ConfigureAwait(false);
            return;
        }

        await context.Response.WriteAsJsonAsync(Render(task), context.RequestAborted).ConfigureAwait(false);
    }

    private async Task ListAsync(HttpContext context)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        var query = context.Request.Query;
        var page = int.TryParse(query["page_num"], CultureInfo.InvariantCulture, out var p) ? p : 1;
        var size = int.TryParse(query["page_size"], CultureInfo.InvariantCulture, out var s) ? s : 10;
        if (page is < 1 or > 500 || size is < 1 or > 500)
        {
            await InvalidAsync(context, "page_num", "page_num and page_size must be 1-500").ConfigureAwait(false);
            return;
        }

        var ids = query["filter.task_ids"].Where(v => !string.IsNullOrEmpty(v)).ToHashSet(StringComparer.Ordinal);
        var status = query["filter.status"].ToString();
        var items = Tasks.All.Where(t => !t.Extra.ContainsKey("deleted"))
            .Select(t => (Task: t, Body: Render(t)))
            .Where(x => (ids.Count == 0 || ids.Contains(x.Task.Id)) && (status.Length == 0 || (string?)x.Body["status"] == status))
            .OrderByDescending(x => x.Task.CreatedAt)
            .ToList();
        var reply = new JsonObject
        {
            ["total"] = items.Count,
            ["items"] = new JsonArray([.. items.Skip((page - 1) * size).Take(size).Select(x => (JsonNode)x.Body)]),
        };
        await context.Response.WriteAsJsonAsync(reply, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task DeleteAsync(HttpContext context, string id)
    {
        if (!await AdmitAsync(context, FaultScope.Any).ConfigureAwait(false))
        {
            return;
        }

        if (Tasks.Find(id) is not { } task || task.Extra.ContainsKey("deleted"))
        {
            await WriteArkErrorAsync(context, 404, "ResourceNotFound", $"The specified task {id} is not found.", "id").ConfigureAwait(false);
            return;
        }

        var status = (string?)Render(task)["status"];
        switch (status)
        {
            case "queued":
                task.CancelledAt = Now;
                break;
            case "succeeded" or "failed" or "expired":
                Tasks.Add(new EmulatedTask
                {
                    Id = task.Id, Model = task.Model, Prompt = task.Prompt, Width = task.Width, Height = task.Height, Seconds = task.Seconds,
                    CreatedAt = task.CreatedAt, QueueTime = task.QueueTime, RunTime = task.RunTime, Ending = task.Ending,
                    Extra = new Dictionary<string, string>(task.Extra) { ["deleted"] = "true" },
                });
                break;
            default:
                await WriteArkErrorAsync(context, 409, "InvalidAction", $"A task in status {status} cannot be cancelled or deleted.", "id").ConfigureAwait(false);
                return;
        }

        await context.Response.WriteAsync("{}", context.RequestAborted).ConfigureAwait(false);
    }

    private JsonObject Render(EmulatedTask task)
    {
        var now = Now;
        var (phase, _) = task.At(now);
        var expiresAfter = int.Parse(task.Extra.GetValueOrDefault("expires_after", "172800"), CultureInfo.InvariantCulture);
        var expired = phase is TaskPhase.Queued or TaskPhase.Running && now - task.CreatedAt > TimeSpan.FromSeconds(expiresAfter);
        var status = task.CancelledAt is not null ? "cancelled"
            : expired ? "expired"
            : phase switch { TaskPhase.Queued => "queued", TaskPhase.Running => "running", TaskPhase.Succeeded => "succeeded", _ => "failed" };
        var updated = task.FinishedAt(now) ?? (phase == TaskPhase.Running ? task.CreatedAt + task.QueueTime : task.CreatedAt);
        var body = new JsonObject
        {
            ["id"] = task.Id,
            ["model"] = task.Model,
            ["status"] = status,
            ["error"] = null,
            ["created_at"] = task.CreatedAt.ToUnixTimeSeconds(),
            ["updated_at"] = updated.ToUnixTimeSeconds(),
            ["service_tier"] = "default",
            ["execution_expires_after"] = expiresAfter,
        };
        if (status == "failed")
        {
            body["error"] = task.Ending == TaskEnding.ModerationAtNinety
                ? new JsonObject { ["code"] = "OutputVideoSensitiveContentDetected", ["message"] = "The request failed because the output video may contain sensitive information." }
                : new JsonObject { ["code"] = "InternalServiceError", ["message"] = "The video generation failed because of an internal error. Please retry." };
        }

        if (status == "succeeded")
        {
            body["content"] = new JsonObject { ["video_url"] = ResultUrl(task) };
            body["usage"] = new JsonObject { ["completion_tokens"] = (long)task.Width * task.Height * ((24 * task.Seconds) + 1) / 1024, ["total_tokens"] = (long)task.Width * task.Height * ((24 * task.Seconds) + 1) / 1024 };
            body["resolution"] = task.Extra.GetValueOrDefault("resolution");
            body["ratio"] = task.Extra.GetValueOrDefault("ratio");
            body["duration"] = task.Seconds;
            body["framespersecond"] = 24;
            if (task.Extra.TryGetValue("seed", out var seed))
            {
                body["seed"] = long.Parse(seed, CultureInfo.InvariantCulture);
            }
        }

        return body;
    }

    /// <summary>"2" (2.x), "1.5" (1.5 pro) or "1" (1.0), from the model id (BytePlus or doubao- CN ids), or null for an unknown model.</summary>
    private static string? Family(string? model) =>
        model is null ? null
        : model.Contains("seedance-2", StringComparison.Ordinal) ? "2"
        : model.Contains("seedance-1-5", StringComparison.Ordinal) ? "1.5"
        : model.Contains("seedance-1-0", StringComparison.Ordinal) ? "1"
        : null;

    private static string Closest(IEnumerable<string> ratios, int width, int height)
    {
        var target = Math.Log((double)width / height);
        return ratios.OrderBy(r =>
        {
            var parts = r.Split(':');
            return Math.Abs(Math.Log(double.Parse(parts[0], CultureInfo.InvariantCulture) / double.Parse(parts[1], CultureInfo.InvariantCulture)) - target);
        }).First();
    }
}
