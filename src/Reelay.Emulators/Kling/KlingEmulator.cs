using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Reelay.Emulators.Kernel;
using static Reelay.Emulators.Kernel.JsonFields;

namespace Reelay.Emulators.Kling;

/// <summary>
/// EMULATOR of Kling's official API (provider-apis-live.md §4): POST /v1/videos/text2video and /v1/videos/image2video
/// (model_name, prompt, negative_prompt, mode std|pro, aspect_ratio for text, duration "5"|"10" as a string, image as raw
/// Base64 or a URL, sound, external_task_id unique per account), GET /v1/videos/{text2video|image2video}/{task_id or
/// external_task_id} under the task's own type, GET /v1/videos/{type}?pageNum&amp;pageSize, statuses submitted, processing,
/// succeed and failed (task_status_msg), millisecond timestamps, numeric-string task ids, and the {"code","message",
/// "request_id","data"} envelope with the code table (1000-1004 auth, 1102 balance as HTTP 429, 1302 rate, 5000-5002).
/// The key (EmulatorOptions.ApiKey) is "&lt;access key&gt;:&lt;secret key&gt;", and every request must carry
/// "Authorization: Bearer &lt;JWT&gt;" signed HS256 with the secret key, iss = the access key, inside its nbf/exp by the
/// emulator's clock. A simulation of the documented wire format, not Kling's service.
/// </summary>
public sealed class KlingEmulator(EmulatorOptions? options = null) : UpstreamEmulator(options)
{
    private static readonly object AuthCode = new();
    private static readonly HashSet<string> ModelNames = new(StringComparer.Ordinal)
    {
        "kling-v1", "kling-v1-5", "kling-v1-6", "kling-v2-master", "kling-v2-1", "kling-v2-1-master", "kling-v2-5-turbo", "kling-v2-6",
    };

    private readonly ConcurrentDictionary<string, string> _byExternalId = new(StringComparer.Ordinal);
    private long _nextId = 776_563_462_582_022_202;

    /// <inheritdoc />
    public override string Kind => "kling";

    /// <inheritdoc />
    protected override void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/v1/videos/text2video", context => CreateAsync(context, image: false));
        app.MapPost("/v1/videos/image2video", context => CreateAsync(context, image: true));
        app.MapGet("/v1/videos/{kind}/{id}", GetAsync);
        app.MapGet("/v1/videos/{kind}", ListAsync);
    }

    /// <summary>Valid when the Bearer token is an HS256 JWT of the secret key, issued by the access key, within nbf/exp.</summary>
    protected override bool KeyMatches(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var header = context.Request.Headers.Authorization.ToString();
        var colon = Options.ApiKey.IndexOf(':', StringComparison.Ordinal);
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal) || colon <= 0)
        {
            context.Items[AuthCode] = 1001;
            return false;
        }

        // The library parses the token; the signature is checked here against the emulator's own secret with the BCL's
        // HMAC, and the lifetime by the emulator's clock (which tests may move).
        JsonWebToken token;
        bool signed;
        var raw = header["Bearer ".Length..];
        try
        {
            token = new JsonWebToken(raw);
            var dot = raw.LastIndexOf('.');
            var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(Options.ApiKey[(colon + 1)..]), Encoding.ASCII.GetBytes(raw[..dot]));
            signed = CryptographicOperations.FixedTimeEquals(expected, Base64UrlEncoder.DecodeBytes(raw[(dot + 1)..]));
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            context.Items[AuthCode] = 1002;
            return false;
        }

        if (!signed || token.Alg != SecurityAlgorithms.HmacSha256 || token.Issuer != Options.ApiKey[..colon] || !token.TryGetPayloadValue<long>("exp", out _))
        {
            context.Items[AuthCode] = 1002;
            return false;
        }

        var now = Now.UtcDateTime;
        if (token.TryGetPayloadValue<long>("nbf", out _) && token.ValidFrom > now)
        {
            context.Items[AuthCode] = 1003;
            return false;
        }

        if (token.ValidTo <= now)
        {
            context.Items[AuthCode] = 1004;
            return false;
        }

        return true;
    }

    /// <inheritdoc />
    protected override Task WriteErrorAsync(HttpContext context, int status, string message, string code)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (http, kling, text) = (status, code) switch
        {
            (401, _) => context.Items[AuthCode] switch
            {
                1001 => (401, 1001, "Authorization is empty"),
                1003 => (401, 1003, "Authorization is not yet valid"),
                1004 => (401, 1004, "Authorization has expired"),
                _ => (401, 1002, "Authorization is invalid"),
            },
            (403, _) => (429, 1102, "Account balance not enough"), // Kling sends an exhausted resource pack as 429
            (429, _) => (429, 1302, "The API request is too fast, please slow down"),
            (503, _) => (503, 5001, "Server is under maintenance, please try again later"),
            (504, _) => (504, 5002, "Server timeout, please try again later"),
            (>= 500, _) => (status, 5000, "Server internal error"),
            (404, _) => (404, 1203, message),
            _ => (status, 1201, message),
        };
        return WriteKlingAsync(context, http, kling, text, null);
    }

    private static Task WriteKlingAsync(HttpContext context, int status, int code, string message, JsonNode? data)
    {
        var body = new JsonObject { ["code"] = code, ["message"] = message, ["request_id"] = Guid.NewGuid().ToString("N") };
        if (data is not null)
        {
            body["data"] = data;
        }

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
            await WriteKlingAsync(context, 400, 1200, "Invalid request body", null).ConfigureAwait(false);
            return;
        }

        var model = Str(root, "model_name") ?? "kling-v1";
        if (!ModelNames.Contains(model) || (!image && model is "kling-v1-5" or "kling-v2-1"))
        {
            await WriteKlingAsync(context, 400, 1201, $"model_name {model} is not supported for {(image ? "image2video" : "text2video")}", null).ConfigureAwait(false);
            return;
        }

        var prompt = Str(root, "prompt");
        if ((!image && string.IsNullOrWhiteSpace(prompt)) || prompt?.Length > 2500)
        {
            await WriteKlingAsync(context, 400, 1201, "prompt is required and at most 2500 characters", null).ConfigureAwait(false);
            return;
        }

        if (!root.TryGetProperty("duration", out var d) || d.ValueKind != JsonValueKind.String || d.GetString() is not ("5" or "10"))
        {
            await WriteKlingAsync(context, 400, 1201, "duration must be the string \"5\" or \"10\"", null).ConfigureAwait(false);
            return;
        }

        var mode = Str(root, "mode") ?? "std";
        if (mode is not ("std" or "pro"))
        {
            await WriteKlingAsync(context, 400, 1201, "mode must be std or pro", null).ConfigureAwait(false);
            return;
        }

        var shortSide = mode == "pro" ? 1080 : 720;
        int width, height;
        if (image)
        {
            var value = Str(root, "image");
            if (value is null)
            {
                await WriteKlingAsync(context, 400, 1201, "image is required", null).ConfigureAwait(false);
                return;
            }

            if (value.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
            {
                await WriteKlingAsync(context, 400, 1201, "image must be a URL or raw Base64 without a data: prefix", null).ConfigureAwait(false);
                return;
            }

            var size = DecodeImage(value) is { } bytes ? ImageSize(bytes) : null;
            if (size is not { } s || s.Width < 300 || s.Height < 300 || (double)s.Width / s.Height > 2.5 || (double)s.Height / s.Width > 2.5)
            {
                await WriteKlingAsync(context, 400, 1201, "image must be a readable JPG or PNG of at least 300 px with a ratio between 1:2.5 and 2.5:1", null).ConfigureAwait(false);
                return;
            }

            (width, height) = s.Height > s.Width
                ? (shortSide, Even(shortSide * s.Height / (double)s.Width))
                : (Even(shortSide * s.Width / (double)s.Height), shortSide);

            // provider-apis-live.md 4.3: image_tail (the end frame) is raw Base64 or a URL like image, and image+image_tail
            // excludes static_mask, dynamic_masks and camera_control.
            if (Str(root, "image_tail") is { } tail)
            {
                var tailSize = !tail.StartsWith("data:", StringComparison.OrdinalIgnoreCase) && DecodeImage(tail) is { } tailBytes ? ImageSize(tailBytes) : null;
                if (tailSize is not { } ts || ts.Width < 300 || ts.Height < 300 || (double)ts.Width / ts.Height > 2.5 || (double)ts.Height / ts.Width > 2.5)
                {
                    await WriteKlingAsync(context, 400, 1201, "image_tail must be a URL or raw Base64 of a readable JPG or PNG of at least 300 px with a ratio between 1:2.5 and 2.5:1", null).ConfigureAwait(false);
                    return;
                }

                if (root.TryGetProperty("static_mask", out _) || root.TryGetProperty("dynamic_masks", out _) || root.TryGetProperty("camera_control", out _))
                {
                    await WriteKlingAsync(context, 400, 1201, "image+image_tail, static_mask/dynamic_masks and camera_control are mutually exclusive", null).ConfigureAwait(false);
                    return;
                }
            }
        }
        else if (root.TryGetProperty("image_tail", out _))
        {
            await WriteKlingAsync(context, 400, 1201, "image_tail is an image2video field", null).ConfigureAwait(false);
            return;
        }
        else
        {
            (width, height) = (Str(root, "aspect_ratio") ?? "16:9") switch
            {
                "16:9" => (Even(shortSide * 16 / 9.0), shortSide),
                "9:16" => (shortSide, Even(shortSide * 16 / 9.0)),
                "1:1" => (shortSide, shortSide),
                _ => (0, 0),
            };
            if (width == 0)
            {
                await WriteKlingAsync(context, 400, 1201, "aspect_ratio must be 16:9, 9:16 or 1:1", null).ConfigureAwait(false);
                return;
            }
        }

        var external = Str(root, "external_task_id");
        var id = Interlocked.Increment(ref _nextId).ToString(CultureInfo.InvariantCulture);
        if (external is not null && !_byExternalId.TryAdd(external, id))
        {
            await WriteKlingAsync(context, 400, 1201, "external_task_id already exists", null).ConfigureAwait(false);
            return;
        }

        var task = AddTask(id, model, prompt, width, height, int.Parse(d.GetString()!, CultureInfo.InvariantCulture), image,
            new Dictionary<string, string> { ["kind"] = image ? "image2video" : "text2video", ["external_task_id"] = external ?? "", ["mode"] = mode, ["sound"] = Str(root, "sound") ?? "" });

        // §4.8: Kling POSTs the task object to callback_url; this EMULATOR calls once, when the task ends.
        CallBackWhenDone(task, Str(root, "callback_url"), t => JsonPost(Render(t)));
        await WriteKlingAsync(context, 200, 0, "SUCCEED", Render(task)).ConfigureAwait(false);
    }

    private async Task GetAsync(HttpContext context, string kind, string id)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        var task = Tasks.Find(id) ?? (_byExternalId.TryGetValue(id, out var internalId) ? Tasks.Find(internalId) : null);
        if (task is null || task.Extra.GetValueOrDefault("kind") != kind)
        {
            await WriteKlingAsync(context, 404, 1203, $"task {id} not found", null).ConfigureAwait(false);
            return;
        }

        await WriteKlingAsync(context, 200, 0, "SUCCEED", Render(task)).ConfigureAwait(false);
    }

    private async Task ListAsync(HttpContext context, string kind)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        if (kind is not ("text2video" or "image2video"))
        {
            await WriteKlingAsync(context, 404, 1202, "invalid request method or path", null).ConfigureAwait(false);
            return;
        }

        var page = int.TryParse(context.Request.Query["pageNum"], CultureInfo.InvariantCulture, out var p) ? p : 1;
        var size = int.TryParse(context.Request.Query["pageSize"], CultureInfo.InvariantCulture, out var s) ? s : 30;
        if (page is < 1 or > 1000 || size is < 1 or > 500)
        {
            await WriteKlingAsync(context, 400, 1201, "pageNum must be 1-1000 and pageSize 1-500", null).ConfigureAwait(false);
            return;
        }

        var items = Tasks.All.Where(t => t.Extra.GetValueOrDefault("kind") == kind).OrderByDescending(t => t.CreatedAt).Skip((page - 1) * size).Take(size);
        await WriteKlingAsync(context, 200, 0, "SUCCEED", new JsonArray([.. items.Select(t => (JsonNode)Render(t))])).ConfigureAwait(false);
    }

    private JsonObject Render(EmulatedTask task)
    {
        var now = Now;
        var (phase, _) = task.At(now);
        var status = phase switch { TaskPhase.Queued => "submitted", TaskPhase.Running => "processing", TaskPhase.Succeeded => "succeed", _ => "failed" };
        var info = new JsonObject();
        if (task.Extra.GetValueOrDefault("external_task_id") is { Length: > 0 } external)
        {
            info["external_task_id"] = external;
        }

        var data = new JsonObject
        {
            ["task_id"] = task.Id,
            ["task_status"] = status,
            ["task_status_msg"] = phase != TaskPhase.Failed ? ""
                : task.Ending == TaskEnding.ModerationAtNinety ? "Failure to pass the risk control system"
                : "Video generation failed due to an internal error",
            ["task_info"] = info,
            ["created_at"] = task.CreatedAt.ToUnixTimeMilliseconds(),
            ["updated_at"] = (task.FinishedAt(now) ?? now).ToUnixTimeMilliseconds(),
        };
        if (phase == TaskPhase.Succeeded)
        {
            data["task_result"] = new JsonObject
            {
                ["videos"] = new JsonArray(new JsonObject { ["id"] = "v" + task.Id, ["url"] = ResultUrl(task), ["duration"] = task.Seconds.ToString("0.0", CultureInfo.InvariantCulture) }),
            };
        }

        return data;
    }

    private static int Even(double value) => ((int)Math.Round(value / 2)) * 2;
}
