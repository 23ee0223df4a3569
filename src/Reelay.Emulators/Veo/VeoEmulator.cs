using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Reelay.Emulators.Kernel;
using static Reelay.Emulators.Kernel.JsonFields;

namespace Reelay.Emulators.Veo;

/// <summary>
/// EMULATOR of Google Veo on the Gemini API (provider-apis-live.md §2), under /v1beta: POST
/// /models/{model}:predictLongRunning (instances[{prompt, image as inlineData or bytesBase64Encoded}], parameters
/// aspectRatio 16:9|9:16, resolution 720p|1080p, durationSeconds 4|6|8 as a number or a string, 1080p only at 8 s) answering
/// {"name":"models/{model}/operations/{id}"}; GET /models/{model}/operations/{id} (only the name until done, then
/// response.generateVideoResponse.generatedSamples[].video.uri, or error {code 13}, or, for output moderation at 90 %,
/// raiMediaFilteredCount and raiMediaFilteredReasons without samples); GET /files/{id}:download?alt=media behind the key,
/// a 302 to the video; GET /models (the probe). The key is "x-goog-api-key" (or ?key=); a wrong one is refused the way
/// Google does: HTTP 400 INVALID_ARGUMENT with the reason API_KEY_INVALID. Errors use {"error":{code,message,status,
/// details}}, a 429 carries RetryInfo. Extension: instances[0].video = {"uri"} of one of this emulator's own outputs (the
/// uri its operation reported, with or without ":download?alt=media"), on the Veo 3.1 preview models but lite, at 720p and
/// durationSeconds 8, makes a video of the source's size that is 8 s longer (the stitched whole); any other uri is a 400
/// INVALID_ARGUMENT naming instances[0].video.uri. A simulation of the documented wire format, not Google's service.
/// </summary>
/// <remarks>
/// Per-request webhooks (provider-apis-live.md §2.4/§2.10): a submit with <c>webhookConfig.uris</c> (a sibling of
/// instances) gets one POST to the first uri when its operation is done, with the thin payload
/// <c>{"type":"video.generated","version":"v1","timestamp","data":{"id": operation name}}</c> and an RS256 JWT in
/// <c>Webhook-Signature</c> whose <c>aud</c> is that uri, signed with this emulator's own RSA key, published as a JWKS at
/// <see cref="JwksUrl"/>. <see cref="WebhookSigning"/> makes it sign wrongly on demand. The issuer and the token's
/// lifetime are not in the reference: the emulator uses Google's API host and five minutes.
/// </remarks>
public sealed class VeoEmulator(EmulatorOptions? options = null) : UpstreamEmulator(options)
{
    /// <summary>The key id of the webhook signing key in the JWKS.</summary>
    public const string WebhookKeyId = "veo-emulator-1";

    private static readonly JsonWebTokenHandler Tokens = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly RSAParameters _webhookKey = NewRsaKey(includePrivate: true);
    private readonly RSAParameters _otherKey = NewRsaKey(includePrivate: true);

    /// <summary>Where this emulator publishes its webhook signing key (what Reelay:Providers:&lt;name&gt;:Callbacks:JwksUrl should be).</summary>
    public Uri JwksUrl => new(BaseUrl, ".well-known/jwks.json");

    /// <summary>How webhooks are signed: rightly, or wrongly on purpose (for tests of the receiver).</summary>
    public VeoWebhookSigning WebhookSigning { get; set; } = VeoWebhookSigning.Valid;

    private static readonly HashSet<string> ModelIds = new(StringComparer.Ordinal)
    {
        "veo-3.1-generate-preview", "veo-3.1-fast-generate-preview", "veo-3.1-lite-generate-preview",
        "veo-3.1-generate-001", "veo-3.1-fast-generate-001", "veo-3.1-lite-generate-001",
    };

    /// <summary>The models that extend a previous output (provider-apis-live.md §2.3).</summary>
    private static readonly HashSet<string> ExtendingModelIds = new(StringComparer.Ordinal) { "veo-3.1-generate-preview", "veo-3.1-fast-generate-preview" };

    /// <inheritdoc />
    public override string Kind => "veo";

    /// <inheritdoc />
    public override string ApiBasePath => "v1beta/";

    /// <inheritdoc />
    protected override void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/.well-known/jwks.json", () => Results.Json(new JsonObject
        {
            ["keys"] = new JsonArray(new JsonObject
            {
                ["kty"] = "RSA",
                ["kid"] = WebhookKeyId,
                ["use"] = "sig",
                ["alg"] = "RS256",
                ["n"] = Base64UrlEncoder.Encode(_webhookKey.Modulus!),
                ["e"] = Base64UrlEncoder.Encode(_webhookKey.Exponent!),
            }),
        }));
        app.MapPost("/v1beta/models/{**rest}", PredictAsync);
        app.MapGet("/v1beta/models/{model}/operations/{id}", OperationAsync);
        app.MapGet("/v1beta/models", ModelsAsync);
        app.MapGet("/v1beta/files/{file}", FileAsync);
    }

    /// <summary>The key in "x-goog-api-key", or in ?key=.</summary>
    protected override bool KeyMatches(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var key = context.Request.Headers["x-goog-api-key"].ToString();
        if (key.Length == 0)
        {
            key = context.Request.Query["key"].ToString();
        }

        return key.Length > 0 && CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(key), System.Text.Encoding.UTF8.GetBytes(Options.ApiKey));
    }

    /// <inheritdoc />
    protected override string AuthForm(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Request.Headers.ContainsKey("x-goog-api-key") ? "x-goog-api-key:" + (KeyMatches(context) ? "ok" : "wrong")
            : context.Request.Query.ContainsKey("key") ? "query-key:" + (KeyMatches(context) ? "ok" : "wrong")
            : context.Request.Headers.Authorization.Count > 0 ? "Authorization:wrong"
            : "none";
    }

    /// <inheritdoc />
    protected override Task WriteErrorAsync(HttpContext context, int status, string message, string code)
    {
        ArgumentNullException.ThrowIfNull(context);
        return status switch
        {
            401 => GoogleErrorAsync(context, 400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT",
                new JsonObject { ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo", ["reason"] = "API_KEY_INVALID", ["domain"] = "googleapis.com" }),
            403 => GoogleErrorAsync(context, 403, "The billing account for the project is disabled; this API requires billing to be enabled.", "PERMISSION_DENIED", null),
            429 => GoogleErrorAsync(context, 429, "You exceeded your current quota, please check your plan and billing details.", "RESOURCE_EXHAUSTED",
                new JsonObject { ["@type"] = "type.googleapis.com/google.rpc.RetryInfo", ["retryDelay"] = (context.Response.Headers.RetryAfter.ToString() is { Length: > 0 } s ? s : "30") + "s" }),
            503 => GoogleErrorAsync(context, 503, "The service is currently unavailable.", "UNAVAILABLE", null),
            504 => GoogleErrorAsync(context, 504, "Deadline exceeded.", "DEADLINE_EXCEEDED", null),
            >= 500 => GoogleErrorAsync(context, status, "Internal error encountered.", "INTERNAL", null),
            404 => GoogleErrorAsync(context, 404, message, "NOT_FOUND", null),
            _ => GoogleErrorAsync(context, status, message, "INVALID_ARGUMENT", null),
        };
    }

    private static Task GoogleErrorAsync(HttpContext context, int status, string message, string statusName, JsonObject? detail)
    {
        var error = new JsonObject { ["code"] = status, ["message"] = message, ["status"] = statusName };
        if (detail is not null)
        {
            error["details"] = new JsonArray(detail);
        }

        return WriteJsonAsync(context, status, new JsonObject { ["error"] = error }, "application/json; charset=UTF-8");
    }

    private static bool DecodesImage(JsonElement image)
    {
        if (image.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        var data = image.TryGetProperty("inlineData", out var inline) ? Str(inline, "data") : Str(image, "bytesBase64Encoded");
        return DecodeImage(data) is { } bytes && ImageSize(bytes) is not null;
    }

    private Task InvalidAsync(HttpContext context, string message) => GoogleErrorAsync(context, 400, message, "INVALID_ARGUMENT", null);

    private async Task PredictAsync(HttpContext context, string rest)
    {
        const string Suffix = ":predictLongRunning";
        if (!rest.EndsWith(Suffix, StringComparison.Ordinal))
        {
            await GoogleErrorAsync(context, 404, $"Method not found: models/{rest}", "NOT_FOUND", null).ConfigureAwait(false);
            return;
        }

        if (!await AdmitAsync(context, FaultScope.Submit).ConfigureAwait(false))
        {
            return;
        }

        var model = rest[..^Suffix.Length];
        if (!ModelIds.Contains(model))
        {
            await GoogleErrorAsync(context, 404, $"models/{model} is not found for API version v1beta, or is not supported for predictLongRunning.", "NOT_FOUND", null).ConfigureAwait(false);
            return;
        }

        if (await ReadJsonAsync(context).ConfigureAwait(false) is not { } root)
        {
            await InvalidAsync(context, "Invalid JSON payload received.").ConfigureAwait(false);
            return;
        }

        if (!root.TryGetProperty("instances", out var instances) || instances.ValueKind != JsonValueKind.Array || instances.GetArrayLength() != 1)
        {
            await InvalidAsync(context, "instances must hold exactly one instance.").ConfigureAwait(false);
            return;
        }

        var instance = instances[0];
        var parameters = root.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        var prompt = Str(instance, "prompt");
        var hasImage = instance.TryGetProperty("image", out var image) && image.ValueKind == JsonValueKind.Object;
        if (WebhookProblem(root) is { } webhookProblem)
        {
            await InvalidAsync(context, webhookProblem).ConfigureAwait(false);
            return;
        }

        if (instance.TryGetProperty("video", out var video))
        {
            await ExtendAsync(context, model, instance, video, parameters, hasImage, WebhookUri(root)).ConfigureAwait(false);
            return;
        }

        if (hasImage)
        {
            var data = image.TryGetProperty("inlineData", out var inline) ? Str(inline, "data") : Str(image, "bytesBase64Encoded");
            if (DecodeImage(data) is not { } bytes || ImageSize(bytes) is null)
            {
                await InvalidAsync(context, "instances[0].image: the image could not be decoded (send inlineData {mimeType, data} or bytesBase64Encoded).").ConfigureAwait(false);
                return;
            }
        }
        else if (string.IsNullOrWhiteSpace(prompt))
        {
            await InvalidAsync(context, "instances[0].prompt is required for text-to-video.").ConfigureAwait(false);
            return;
        }

        // provider-apis-live.md 2.3/2.4: lastFrame needs image; referenceImages (Veo 3.1 only, at most 3, referenceType asset
        // or style) do not go with image or lastFrame, and force 8 s.
        var hasLast = instance.TryGetProperty("lastFrame", out var lastFrame) && lastFrame.ValueKind != JsonValueKind.Null;
        if (hasLast)
        {
            if (!hasImage)
            {
                await InvalidAsync(context, "instances[0].lastFrame needs instances[0].image (the first frame).").ConfigureAwait(false);
                return;
            }

            if (!DecodesImage(lastFrame))
            {
                await InvalidAsync(context, "instances[0].lastFrame: the image could not be decoded (send inlineData {mimeType, data} or bytesBase64Encoded).").ConfigureAwait(false);
                return;
            }
        }

        var referenceCount = 0;
        if (instance.TryGetProperty("referenceImages", out var references) && references.ValueKind != JsonValueKind.Null)
        {
            if (references.ValueKind != JsonValueKind.Array || references.GetArrayLength() is 0 or > 3)
            {
                await InvalidAsync(context, "instances[0].referenceImages must hold 1 to 3 images.").ConfigureAwait(false);
                return;
            }

            if (!model.StartsWith("veo-3.1", StringComparison.Ordinal) || model.Contains("lite", StringComparison.Ordinal))
            {
                await InvalidAsync(context, $"instances[0].referenceImages is not supported by {model}.").ConfigureAwait(false);
                return;
            }

            if (hasImage || hasLast)
            {
                await InvalidAsync(context, "instances[0].referenceImages cannot be combined with image or lastFrame.").ConfigureAwait(false);
                return;
            }

            var index = 0;
            foreach (var reference in references.EnumerateArray())
            {
                var type = reference.ValueKind == JsonValueKind.Object ? Str(reference, "referenceType") : null;
                if (type is null || !(type.Equals("asset", StringComparison.OrdinalIgnoreCase) || type.Equals("style", StringComparison.OrdinalIgnoreCase))
                    || !reference.TryGetProperty("image", out var referenceImage) || !DecodesImage(referenceImage))
                {
                    await InvalidAsync(context, $"instances[0].referenceImages[{index}] needs a decodable image and referenceType asset or style.").ConfigureAwait(false);
                    return;
                }

                index++;
            }

            referenceCount = index;
        }

        var aspect = Str(parameters, "aspectRatio") ?? "16:9";
        var resolution = Str(parameters, "resolution") ?? "720p";
        var seconds = parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("durationSeconds", out var d)
            ? d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out var n) ? n : d.ValueKind == JsonValueKind.String && int.TryParse(d.GetString(), CultureInfo.InvariantCulture, out var t) ? t : -1
            : 8;
        if (aspect is not ("16:9" or "9:16"))
        {
            await InvalidAsync(context, "parameters.aspectRatio must be 16:9 or 9:16.").ConfigureAwait(false);
            return;
        }

        if (resolution is not ("720p" or "1080p") || (resolution == "1080p" && model.Contains("lite", StringComparison.Ordinal) && aspect != "16:9"))
        {
            await InvalidAsync(context, "parameters.resolution must be 720p or 1080p.").ConfigureAwait(false);
            return;
        }

        if (seconds is not (4 or 6 or 8) || (resolution == "1080p" && seconds != 8))
        {
            await InvalidAsync(context, "parameters.durationSeconds must be 4, 6 or 8, and 8 at 1080p.").ConfigureAwait(false);
            return;
        }

        if (referenceCount > 0 && seconds != 8)
        {
            await InvalidAsync(context, "parameters.durationSeconds must be 8 with referenceImages.").ConfigureAwait(false);
            return;
        }

        var shortSide = resolution == "1080p" ? 1080 : 720;
        var longSide = resolution == "1080p" ? 1920 : 1280;
        var task = AddTask(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)), model, prompt, aspect == "16:9" ? longSide : shortSide, aspect == "16:9" ? shortSide : longSide, seconds, hasImage);
        CallBack(task, WebhookUri(root));
        await context.Response.WriteAsJsonAsync(new JsonObject { ["name"] = $"models/{model}/operations/{task.Id}" }, context.RequestAborted).ConfigureAwait(false);
    }

    private void CallBack(EmulatedTask task, string? webhook)
    {
        if (Uri.TryCreate(webhook, UriKind.Absolute, out var uri))
        {
            CallBackWhenDone(task, webhook, t => SignedWebhook(t, uri));
        }
    }

    /// <summary>webhookConfig, when present, must be an object whose uris is a non-empty array of http(s) URLs.</summary>
    private static string? WebhookProblem(JsonElement root)
    {
        if (!root.TryGetProperty("webhookConfig", out var config) || config.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return config.ValueKind != JsonValueKind.Object || !config.TryGetProperty("uris", out var uris) || uris.ValueKind != JsonValueKind.Array || uris.GetArrayLength() == 0
            || uris.EnumerateArray().Any(u => u.ValueKind != JsonValueKind.String || !Uri.TryCreate(u.GetString(), UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            ? "webhookConfig.uris must be a non-empty list of http(s) URLs."
            : null;
    }

    private static string? WebhookUri(JsonElement root) =>
        root.TryGetProperty("webhookConfig", out var config) && config.ValueKind == JsonValueKind.Object && config.TryGetProperty("uris", out var uris) && uris.ValueKind == JsonValueKind.Array && uris.GetArrayLength() > 0
            ? uris[0].GetString()
            : null;

    /// <summary>The thin webhook of a done operation, with the RS256 JWT (aud = the uri) in Webhook-Signature.</summary>
    private HttpRequestMessage SignedWebhook(EmulatedTask task, Uri uri)
    {
        var now = Now;
        var body = new JsonObject
        {
            ["type"] = "video.generated",
            ["version"] = "v1",
            ["timestamp"] = now.ToString("O", CultureInfo.InvariantCulture),
            ["data"] = new JsonObject { ["id"] = $"models/{task.Model}/operations/{task.Id}" },
        };
        var signing = WebhookSigning;
        var key = new RsaSecurityKey(signing == VeoWebhookSigning.WrongKey ? _otherKey : _webhookKey) { KeyId = WebhookKeyId };
        var issuedAt = signing == VeoWebhookSigning.Expired ? now.AddMinutes(-20) : now;
        var token = Tokens.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://generativelanguage.googleapis.com",
            Audience = signing == VeoWebhookSigning.WrongAudience ? "https://elsewhere.example/webhook" : uri.AbsoluteUri,
            IssuedAt = issuedAt.UtcDateTime,
            NotBefore = issuedAt.UtcDateTime,
            Expires = issuedAt.AddMinutes(5).UtcDateTime,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });
        var request = JsonPost(body);
        request.Headers.TryAddWithoutValidation("Webhook-Signature", token);
        return request;
    }

    private static RSAParameters NewRsaKey(bool includePrivate)
    {
        using var rsa = RSA.Create(2048);
        return rsa.ExportParameters(includePrivate);
    }

    /// <summary>An extension of one of this emulator's own outputs: 720p, 8 s more, the source's size.</summary>
    private async Task ExtendAsync(HttpContext context, string model, JsonElement instance, JsonElement video, JsonElement parameters, bool hasImage, string? webhook)
    {
        if (hasImage || instance.TryGetProperty("lastFrame", out _) || instance.TryGetProperty("referenceImages", out _))
        {
            await InvalidAsync(context, "instances[0].video cannot be combined with image, lastFrame or referenceImages.").ConfigureAwait(false);
            return;
        }

        if (!ExtendingModelIds.Contains(model))
        {
            await InvalidAsync(context, $"instances[0].video: video extension is not supported by models/{model}.").ConfigureAwait(false);
            return;
        }

        var uri = video.ValueKind == JsonValueKind.Object ? Str(video, "uri") : null;
        var prefix = new Uri(BaseUrl, "v1beta/files/").AbsoluteUri;
        var file = uri is not null && uri.StartsWith(prefix, StringComparison.Ordinal) ? uri[prefix.Length..] : null;
        var id = file?.Split(':', '?')[0];
        if (string.IsNullOrEmpty(id) || Tasks.Find(id) is not { } source || source.At(Now).Phase != TaskPhase.Succeeded)
        {
            await InvalidAsync(context, "instances[0].video.uri: the video was not found; give the uri of a video Veo generated (files/{id}).").ConfigureAwait(false);
            return;
        }

        var resolution = Str(parameters, "resolution") ?? "720p";
        if (resolution != "720p")
        {
            await InvalidAsync(context, "parameters.resolution must be 720p for video extension.").ConfigureAwait(false);
            return;
        }

        var seconds = parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("durationSeconds", out var d)
            ? d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out var n) ? n : d.ValueKind == JsonValueKind.String && int.TryParse(d.GetString(), CultureInfo.InvariantCulture, out var t) ? t : -1
            : 8;
        if (seconds != 8)
        {
            await InvalidAsync(context, "parameters.durationSeconds must be 8 for video extension.").ConfigureAwait(false);
            return;
        }

        if (Str(parameters, "aspectRatio") is { } aspect && aspect != (source.Width >= source.Height ? "16:9" : "9:16"))
        {
            await InvalidAsync(context, "parameters.aspectRatio must match the input video's.").ConfigureAwait(false);
            return;
        }

        var prompt = Str(instance, "prompt");
        var task = AddTask(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)), model, prompt, source.Width, source.Height, source.Seconds + seconds, hasImage: false,
            new Dictionary<string, string>(StringComparer.Ordinal) { ["operation"] = "extend", ["source"] = source.Id });
        CallBack(task, webhook);
        await context.Response.WriteAsJsonAsync(new JsonObject { ["name"] = $"models/{model}/operations/{task.Id}" }, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task OperationAsync(HttpContext context, string model, string id)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        if (Tasks.Find(id) is not { } task || task.Model != model)
        {
            await GoogleErrorAsync(context, 404, $"Operation models/{model}/operations/{id} not found.", "NOT_FOUND", null).ConfigureAwait(false);
            return;
        }

        var name = $"models/{model}/operations/{id}";
        var (phase, _) = task.At(Now);
        var body = new JsonObject { ["name"] = name };
        if (phase == TaskPhase.Succeeded)
        {
            body["done"] = true;
            body["response"] = new JsonObject
            {
                ["@type"] = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                ["generateVideoResponse"] = new JsonObject
                {
                    ["generatedSamples"] = new JsonArray(new JsonObject { ["video"] = new JsonObject { ["uri"] = new Uri(BaseUrl, $"v1beta/files/{task.Id}:download?alt=media").AbsoluteUri } }),
                },
            };
        }
        else if (phase == TaskPhase.Failed && task.Ending == TaskEnding.ModerationAtNinety)
        {
            body["done"] = true;
            body["response"] = new JsonObject
            {
                ["@type"] = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                ["generateVideoResponse"] = new JsonObject
                {
                    ["raiMediaFilteredCount"] = 1,
                    ["raiMediaFilteredReasons"] = new JsonArray("Your video could not be generated because it violates our safety policy for generated output. You have not been charged for this attempt."),
                },
            };
        }
        else if (phase == TaskPhase.Failed)
        {
            body["done"] = true;
            body["error"] = new JsonObject { ["code"] = 13, ["message"] = "Internal error encountered." };
        }
        else if (phase == TaskPhase.Running)
        {
            body["metadata"] = new JsonObject { ["@type"] = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningMetadata" };
        }

        await context.Response.WriteAsJsonAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task ModelsAsync(HttpContext context)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        var models = new JsonArray([.. ModelIds.Order(StringComparer.Ordinal).Select(m => (JsonNode)new JsonObject { ["name"] = "models/" + m, ["supportedGenerationMethods"] = new JsonArray("predictLongRunning") })]);
        await context.Response.WriteAsJsonAsync(new JsonObject { ["models"] = models }, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>files/{id}:download needs the key, and answers with a redirect to the stored video (which expires).</summary>
    private async Task FileAsync(HttpContext context, string file)
    {
        if (!await AdmitAsync(context, FaultScope.Download).ConfigureAwait(false))
        {
            return;
        }

        var id = file.EndsWith(":download", StringComparison.Ordinal) ? file[..^":download".Length] : file;
        if (Tasks.Find(id) is not { } task || task.At(Now).Phase != TaskPhase.Succeeded)
        {
            await GoogleErrorAsync(context, 404, $"File files/{id} not found.", "NOT_FOUND", null).ConfigureAwait(false);
            return;
        }

        context.Response.Redirect(ResultUrl(task));
    }
}

/// <summary>How the Veo EMULATOR signs its webhooks.</summary>
public enum VeoWebhookSigning
{
    /// <summary>With the key in its JWKS, aud = the webhook uri, valid now.</summary>
    Valid,

    /// <summary>With another key (same key id): the signature does not verify.</summary>
    WrongKey,

    /// <summary>With aud set to another URL.</summary>
    WrongAudience,

    /// <summary>With a token that expired 15 minutes ago.</summary>
    Expired,
}
