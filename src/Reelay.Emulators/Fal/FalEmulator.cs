using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Reelay.Emulators.Kernel;
using static Reelay.Emulators.Kernel.JsonFields;

namespace Reelay.Emulators.Fal;

/// <summary>
/// EMULATOR of the fal.ai queue (provider-apis-live.md §3) for any model id: POST /{owner}/{app}[/{path}] answers IN_QUEUE
/// with request_id, status_url, response_url and cancel_url under owner/app; GET …/requests/{id}/status answers 202
/// (IN_QUEUE with queue_position, IN_PROGRESS) and then 200 (COMPLETED, with error and error_type when the request
/// failed; logs only with logs=1); GET …/requests/{id} answers the output {"video":{url,content_type,file_name,file_size},
/// "seed"} or, for a failed request, a non-2xx {"detail","error_type"} (422 content_policy_violation for output moderation
/// at 90 %, 504 request_timeout for "[fail]"); PUT …/cancel answers CANCELLATION_REQUESTED, ALREADY_COMPLETED or
/// NOT_FOUND. Inputs: prompt, image_url (URL or data URI), duration as a string ("5", or "8s" for Veo ids), aspect_ratio,
/// resolution; end_image_url on Seedance 1.0 pro and Hailuo 02 image-to-video; image_urls (1 to 3 reference images, 8 s)
/// on reference-to-video ids only; a wrong type is a 422 with detail[]. "Authorization: Key &lt;key&gt;". A simulation of
/// the documented wire format, not fal's service.
/// </summary>
/// <remarks>
/// Webhooks: a submit with <c>?fal_webhook=URL</c> gets one POST when its request ends ({request_id, gateway_request_id,
/// status OK|ERROR, payload}), signed as fal documents (§3.9) with this emulator's own ED25519 key, whose public half is
/// served as a JWKS at <see cref="JwksUrl"/>.
/// </remarks>
public sealed class FalEmulator(EmulatorOptions? options = null) : UpstreamEmulator(options)
{
    /// <summary>The user id this emulator signs webhooks as.</summary>
    public const string WebhookUserId = "emulator-user";

    private readonly Org.BouncyCastle.Crypto.Parameters.Ed25519PrivateKeyParameters _webhookKey = new(new Org.BouncyCastle.Security.SecureRandom());

    /// <summary>Where this emulator publishes its webhook signing key (what Reelay:Providers:&lt;name&gt;:Callbacks:JwksUrl should be).</summary>
    public Uri JwksUrl => new(BaseUrl, ".well-known/jwks.json");

    /// <inheritdoc />
    public override string Kind => "fal";

    /// <inheritdoc />
    protected override void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/.well-known/jwks.json", () => Results.Json(new JsonObject
        {
            ["keys"] = new JsonArray(new JsonObject
            {
                ["kty"] = "OKP",
                ["crv"] = "Ed25519",
                ["x"] = Convert.ToBase64String(_webhookKey.GeneratePublicKey().GetEncoded()).TrimEnd('=').Replace('+', '-').Replace('/', '_'),
                ["kid"] = "emulator",
            }),
        }));
        app.MapGet("/{owner}/{app}/requests/{id}/status", StatusAsync);
        app.MapGet("/{owner}/{app}/requests/{id}", ResultAsync);
        app.MapPut("/{owner}/{app}/requests/{id}/cancel", CancelAsync);
        app.MapPost("/{**model}", SubmitAsync);
    }

    /// <summary>"Authorization: Key &lt;key&gt;".</summary>
    protected override bool KeyMatches(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var header = context.Request.Headers.Authorization.ToString();
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header), Encoding.UTF8.GetBytes("Key " + Options.ApiKey));
    }

    /// <inheritdoc />
    protected override string AuthForm(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var header = context.Request.Headers.Authorization.ToString();
        return header.Length == 0 ? "none" : (header.StartsWith("Key ", StringComparison.Ordinal) ? "Key" : "other") + (KeyMatches(context) ? ":ok" : ":wrong");
    }

    /// <inheritdoc />
    protected override Task WriteErrorAsync(HttpContext context, int status, string message, string code)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (detail, type) = status switch
        {
            401 => ("Authentication is required to perform this action", (string?)null),
            403 => ("User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing.", null),
            429 => ("Rate limit exceeded", "rate_limited"),
            503 => ("Runner scheduling failure", "runner_scheduling_failure"),
            504 => ("Request timed out", "request_timeout"),
            >= 500 => ("Internal server error", "internal_server_error"),
            _ => (message, null),
        };
        return WriteDetailAsync(context, status, detail, type);
    }

    private static Task WriteDetailAsync(HttpContext context, int status, string detail, string? type)
    {
        var body = new JsonObject { ["detail"] = detail };
        if (type is not null)
        {
            body["error_type"] = type;
            context.Response.Headers["X-Fal-Error-Type"] = type;
        }

        return WriteJsonAsync(context, status, body);
    }

    private static Task ValidationAsync(HttpContext context, string field, string message, string type = "value_error") =>
        WriteJsonAsync(context, 422, new JsonObject
        {
            ["detail"] = new JsonArray(new JsonObject { ["loc"] = new JsonArray("body", field), ["msg"] = message, ["type"] = type }),
        });

    private async Task SubmitAsync(HttpContext context, string model)
    {
        if (model.StartsWith("_emulator", StringComparison.Ordinal))
        {
            context.Response.StatusCode = 404;
            return;
        }

        if (!await AdmitAsync(context, FaultScope.Submit).ConfigureAwait(false))
        {
            return;
        }

        var parts = model.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            await WriteDetailAsync(context, 404, $"Application '{model}' not found", null).ConfigureAwait(false);
            return;
        }

        if (await ReadJsonAsync(context).ConfigureAwait(false) is not { } root)
        {
            await ValidationAsync(context, "", "Input should be a valid JSON object", "json_invalid").ConfigureAwait(false);
            return;
        }

        var image = model.Contains("image-to-video", StringComparison.Ordinal);
        var prompt = Str(root, "prompt");
        if (prompt is null)
        {
            await ValidationAsync(context, "prompt", "field required", "missing").ConfigureAwait(false);
            return;
        }

        (int Width, int Height)? frame = null;
        if (image)
        {
            if (Str(root, "image_url") is not { } url)
            {
                await ValidationAsync(context, "image_url", "field required", "missing").ConfigureAwait(false);
                return;
            }

            frame = DecodeImage(url) is { } bytes ? ImageSize(bytes) : null;
            if (frame is null && !url.StartsWith("http", StringComparison.OrdinalIgnoreCase))
            {
                await ValidationAsync(context, "image_url", "Could not read the image", "image_load_error").ConfigureAwait(false);
                return;
            }
        }

        // provider-apis-live.md 3.10: Seedance 1.0 pro and Hailuo 02 image-to-video take end_image_url (the last frame);
        // other models do not list it, and it means nothing without image_url.
        if (Str(root, "end_image_url") is { } end)
        {
            var takesEnd = image && (model.Contains("seedance/v1/pro", StringComparison.Ordinal) || model.Contains("hailuo-02", StringComparison.Ordinal));
            if (!takesEnd)
            {
                await ValidationAsync(context, "end_image_url", $"extra inputs are not permitted by {model}", "extra_forbidden").ConfigureAwait(false);
                return;
            }

            if ((DecodeImage(end) is not { } endBytes || ImageSize(endBytes) is null) && !end.StartsWith("http", StringComparison.OrdinalIgnoreCase))
            {
                await ValidationAsync(context, "end_image_url", "Could not read the image", "image_load_error").ConfigureAwait(false);
                return;
            }
        }

        // fal's Veo 3.1 reference-to-video (its model page): image_urls, the reference images, required there and nowhere
        // else; Veo takes at most 3 and makes 8 s with them.
        var referenceModel = model.Contains("reference-to-video", StringComparison.Ordinal);
        var hasReferences = root.TryGetProperty("image_urls", out var references) && references.ValueKind != JsonValueKind.Null;
        if (hasReferences && !referenceModel)
        {
            await ValidationAsync(context, "image_urls", $"extra inputs are not permitted by {model}", "extra_forbidden").ConfigureAwait(false);
            return;
        }

        if (referenceModel)
        {
            if (!hasReferences)
            {
                await ValidationAsync(context, "image_urls", "field required", "missing").ConfigureAwait(false);
                return;
            }

            if (references.ValueKind != JsonValueKind.Array || references.GetArrayLength() is 0 or > 3)
            {
                await ValidationAsync(context, "image_urls", "List should have at least 1 item and at most 3 items", "too_long").ConfigureAwait(false);
                return;
            }

            var index = 0;
            foreach (var reference in references.EnumerateArray())
            {
                var url = reference.ValueKind == JsonValueKind.String ? reference.GetString()! : null;
                if (url is null || ((DecodeImage(url) is not { } referenceBytes || ImageSize(referenceBytes) is null) && !url.StartsWith("http", StringComparison.OrdinalIgnoreCase)))
                {
                    await ValidationAsync(context, $"image_urls.{index}", "Could not read the image", "image_load_error").ConfigureAwait(false);
                    return;
                }

                index++;
            }

            if (Str(root, "duration") is { } referenceDuration && referenceDuration != "8s")
            {
                await ValidationAsync(context, "duration", "Input should be '8s'", "literal_error").ConfigureAwait(false);
                return;
            }
        }

        var veo = model.Contains("/veo", StringComparison.Ordinal);
        if (!root.TryGetProperty("duration", out var d) || d.ValueKind != JsonValueKind.String)
        {
            await ValidationAsync(context, "duration", "Input should be a valid string", "string_type").ConfigureAwait(false);
            return;
        }

        var durationText = d.GetString()!;
        if (veo != durationText.EndsWith('s') || !int.TryParse(veo ? durationText[..^1] : durationText, CultureInfo.InvariantCulture, out var seconds) || seconds is < 1 or > 30)
        {
            await ValidationAsync(context, "duration", veo ? "Input should be '4s', '6s' or '8s'" : "Input should be a whole number of seconds as a string", "literal_error").ConfigureAwait(false);
            return;
        }

        var shortSide = Str(root, "resolution") switch { "480p" => 480, "1080p" => 1080, _ => 720 };
        var aspect = Str(root, "aspect_ratio");
        var ratio = aspect is { } a && a.Split(':') is [var w, var h] && double.TryParse(w, CultureInfo.InvariantCulture, out var rw) && double.TryParse(h, CultureInfo.InvariantCulture, out var rh) && rh > 0
            ? rw / rh
            : frame is { } f ? (double)f.Width / f.Height : 16 / 9.0;
        var (width, height) = ratio >= 1 ? (Even(shortSide * ratio), shortSide) : (shortSide, Even(shortSide / ratio));
        var app = string.Join('/', parts.Take(parts[0] is "workflows" or "comfy" ? 3 : 2));
        var task = AddTask(Guid.NewGuid().ToString(), model, prompt, width, height, seconds, image, new Dictionary<string, string> { ["app"] = app });
        CallBackWhenDone(task, context.Request.Query["fal_webhook"].ToString() is { Length: > 0 } hook ? hook : null, SignedWebhook);
        var reply = Urls(task);
        reply["status"] = "IN_QUEUE";
        reply["queue_position"] = 0;
        await WriteJsonAsync(context, 200, reply).ConfigureAwait(false);
    }

    /// <summary>The webhook of a finished request, signed: ED25519 over request_id, user_id, timestamp and sha256(body) in hex.</summary>
    private HttpRequestMessage SignedWebhook(EmulatedTask task)
    {
        var ok = task.At(Now).Phase == TaskPhase.Succeeded;
        var body = new JsonObject { ["request_id"] = task.Id, ["gateway_request_id"] = task.Id, ["status"] = ok ? "OK" : "ERROR" };
        if (ok)
        {
            body["payload"] = new JsonObject
            {
                ["video"] = new JsonObject { ["url"] = ResultUrl(task), ["content_type"] = "video/mp4", ["file_name"] = "output.mp4", ["file_size"] = 4_404_019 },
                ["seed"] = 196_619_188,
            };
        }
        else
        {
            body["error"] = "Invalid status code: 422";
            body["payload"] = new JsonObject { ["detail"] = new JsonArray(new JsonObject { ["msg"] = "The content was flagged by a content checker.", ["type"] = "content_policy_violation" }) };
        }

        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        var timestamp = Now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var message = Encoding.UTF8.GetBytes($"{task.Id}\n{WebhookUserId}\n{timestamp}\n{Convert.ToHexStringLower(SHA256.HashData(bytes))}");
        var signer = new Org.BouncyCastle.Crypto.Signers.Ed25519Signer();
        signer.Init(true, _webhookKey);
        signer.BlockUpdate(message, 0, message.Length);
        var request = new HttpRequestMessage(HttpMethod.Post, (Uri?)null) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Fal-Webhook-Request-Id", task.Id);
        request.Headers.Add("X-Fal-Webhook-User-Id", WebhookUserId);
        request.Headers.Add("X-Fal-Webhook-Timestamp", timestamp);
        request.Headers.Add("X-Fal-Webhook-Signature", Convert.ToHexStringLower(signer.GenerateSignature()));
        return request;
    }

    private async Task StatusAsync(HttpContext context, string owner, string app, string id)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        if (Find(owner, app, id) is not { } task)
        {
            await WriteDetailAsync(context, 404, $"Request {id} not found", null).ConfigureAwait(false);
            return;
        }

        var (phase, progress) = task.At(Now);
        var body = Urls(task);
        var logs = context.Request.Query["logs"] == "1";
        switch (phase)
        {
            case TaskPhase.Queued:
                body["status"] = "IN_QUEUE";
                body["queue_position"] = 0;
                await WriteJsonAsync(context, 202, body).ConfigureAwait(false);
                return;
            case TaskPhase.Running:
                body["status"] = "IN_PROGRESS";
                if (logs)
                {
                    body["logs"] = new JsonArray(new JsonObject { ["message"] = $"step {progress}/100", ["level"] = "INFO", ["source"] = "USER", ["timestamp"] = Now.ToString("O", CultureInfo.InvariantCulture) });
                }

                await WriteJsonAsync(context, 202, body).ConfigureAwait(false);
                return;
        }

        body["status"] = "COMPLETED";
        body["metrics"] = new JsonObject { ["inference_time"] = task.RunTime.TotalSeconds };
        if (logs)
        {
            body["logs"] = new JsonArray();
        }

        if (phase == TaskPhase.Failed)
        {
            var (error, type) = task.CancelledAt is not null ? ("Request was cancelled", "request_cancelled")
                : task.Ending == TaskEnding.ModerationAtNinety ? ("The content was flagged by a content checker.", "content_policy_violation")
                : ("Request timed out", "request_timeout");
            body["error"] = error;
            body["error_type"] = type;
        }

        await WriteJsonAsync(context, 200, body).ConfigureAwait(false);
    }

    private async Task ResultAsync(HttpContext context, string owner, string app, string id)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        if (Find(owner, app, id) is not { } task)
        {
            await WriteDetailAsync(context, 404, $"Request {id} not found", null).ConfigureAwait(false);
            return;
        }

        switch (task.At(Now).Phase)
        {
            case TaskPhase.Queued or TaskPhase.Running:
                await WriteDetailAsync(context, 400, "Request is still in progress", null).ConfigureAwait(false);
                return;
            case TaskPhase.Failed when task.Ending == TaskEnding.ModerationAtNinety:
                await ValidationAsync(context, "output", "The content was flagged by a content checker.", "content_policy_violation").ConfigureAwait(false);
                return;
            case TaskPhase.Failed:
                await WriteDetailAsync(context, 504, "Request timed out", "request_timeout").ConfigureAwait(false);
                return;
        }

        var result = new JsonObject
        {
            ["video"] = new JsonObject { ["url"] = ResultUrl(task), ["content_type"] = "video/mp4", ["file_name"] = "output.mp4", ["file_size"] = 4_404_019 },
            ["seed"] = 196_619_188,
        };
        context.Response.Headers["x-fal-request-id"] = task.Id;
        await WriteJsonAsync(context, 200, result).ConfigureAwait(false);
    }

    private async Task CancelAsync(HttpContext context, string owner, string app, string id)
    {
        if (!await AdmitAsync(context, FaultScope.Any).ConfigureAwait(false))
        {
            return;
        }

        if (Find(owner, app, id) is not { } task)
        {
            await WriteJsonAsync(context, 404, new JsonObject { ["status"] = "NOT_FOUND" }).ConfigureAwait(false);
            return;
        }

        var phase = task.At(Now).Phase;
        if (phase is TaskPhase.Succeeded or TaskPhase.Failed)
        {
            await WriteJsonAsync(context, 400, new JsonObject { ["status"] = "ALREADY_COMPLETED" }).ConfigureAwait(false);
            return;
        }

        if (phase == TaskPhase.Queued)
        {
            task.CancelledAt = Now; // removed from the queue; a running one only gets a signal and finishes
        }

        await WriteJsonAsync(context, 202, new JsonObject { ["status"] = "CANCELLATION_REQUESTED" }).ConfigureAwait(false);
    }

    private EmulatedTask? Find(string owner, string app, string id) =>
        Tasks.Find(id) is { } task && task.Extra.GetValueOrDefault("app") is { } a && (a == $"{owner}/{app}" || a.StartsWith($"{owner}/{app}/", StringComparison.Ordinal)) ? task : null;

    private JsonObject Urls(EmulatedTask task)
    {
        var app = task.Extra["app"];
        var baseUrl = new Uri(BaseUrl, $"{app}/requests/{task.Id}").AbsoluteUri;
        return new JsonObject
        {
            ["request_id"] = task.Id,
            ["gateway_request_id"] = task.Id,
            ["response_url"] = baseUrl,
            ["status_url"] = baseUrl + "/status",
            ["cancel_url"] = baseUrl + "/cancel",
        };
    }

    private static int Even(double value) => ((int)Math.Round(value / 2)) * 2;
}
