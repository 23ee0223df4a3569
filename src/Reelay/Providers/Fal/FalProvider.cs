using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers.Http;

namespace Reelay.Providers.Fal;

/// <summary>
/// fal.ai's queue (provider-apis-live.md §3) for any model id: POST {base}/{model id} with the model's input JSON, then
/// GET {base}/{owner}/{app}/requests/{id}/status (IN_QUEUE, IN_PROGRESS, COMPLETED) and, once COMPLETED without an error,
/// GET {base}/{owner}/{app}/requests/{id} for the output ({"video":{"url"}}): a COMPLETED status is not a success until
/// that result is read. PUT …/cancel cancels. "Authorization: Key &lt;key&gt;". Status, result and cancel drop the model's
/// sub-path (owner/app only). The inputs each model family takes, and how it spells its duration, are in
/// <see cref="FalInputs"/>. No crash lookup (the queue has no client reference).
/// </summary>
public sealed partial class FalProvider(string name, ProviderInstanceOptions options, ProviderServices services)
    : HttpVideoProvider(name, options, services)
{
    /// <summary>The status of an unknown request: 404 with a good key, 401 without; starts nothing.</summary>
    protected override string ProbePath => "fal-ai/reelay-probe/requests/00000000-0000-0000-0000-000000000000/status";

    /// <inheritdoc />
    public override string? CheckSupport(Job job, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(upstreamModel);
        if (FalInputs.AppOf(upstreamModel) is null)
        {
            return $"'{upstreamModel}' is not a fal model id (owner/app[/path])";
        }

        // image_role=first_frame (Seedance's default) is what image_url means on fal; reference_image has no fal field.
        return FalInputs.CheckSupport(job, upstreamModel) ?? InputsNotOffered("fal", job, upstreamModel) ?? InputNameMissing(job, upstreamModel) ?? OptionNotOffered(job, (key, value) => FalInputs.Carries(upstreamModel, key) || (key == "image_role" && value == "first_frame"), $" by {upstreamModel}");
    }

    // A model the catalog says takes a last frame or reference images must also name the field that carries them.
    private string? InputNameMissing(Job job, string upstreamModel)
    {
        var inputs = Catalog.FindUpstream("fal", upstreamModel)?.Inputs;
        if (job.LastFrameKey is not null && inputs?.ContainsKey("last_frame") != true)
        {
            return $"the catalog names no last_frame input for {upstreamModel} (upstreams.fal.inputs)";
        }

        return job.ReferenceImageKeys.Count > 0 && inputs?.ContainsKey("reference_images") != true
            ? $"the catalog names no reference_images input for {upstreamModel} (upstreams.fal.inputs)"
            : null;
    }

    /// <inheritdoc />
    public override async Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var j = job.Job;
        // fal takes a data URI wherever it takes a URL; the images are sent as they are.
        var images = await ReadImagesAsync(job, cancellationToken).ConfigureAwait(false);
        var body = FalInputs.Build(j, job.UpstreamModel, images.First?.DataUri);
        // fal names inputs per model: the catalog's upstreams.fal.<id>.inputs says which field takes the last frame
        // (end_image_url on Seedance 1.0 pro and Hailuo 02, provider-apis-live.md 3.10) and which the reference images
        // (CheckSupport refuses a job whose model names no field for them).
        var inputs = Catalog.FindUpstream("fal", job.UpstreamModel)?.Inputs;
        if (images.Last is { } last && inputs?.GetValueOrDefault("last_frame") is { } lastField)
        {
            body[lastField] = last.DataUri;
        }

        if (images.References.Count > 0 && inputs?.GetValueOrDefault("reference_images") is { } referenceField)
        {
            var array = new System.Text.Json.Nodes.JsonArray();
            foreach (var reference in images.References)
            {
                array.Add(reference.DataUri);
            }

            body[referenceField] = array;
        }

        // fal's webhook goes in the fal_webhook query parameter (there is no header for it); fal signs it with ED25519.
        var webhook = CallbackUrl(job);
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook is null ? Http.Url(job.UpstreamModel) : Http.Url(job.UpstreamModel + "?fal_webhook=" + Uri.EscapeDataString(webhook)))
        {
            Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        return await SubmitJsonAsync(
            request,
            (failed, root) =>
            {
                var error = FalError.Read(root);
                return error.Moderated
                    ? new SubmitOutcome.Rejected(UpstreamErrors.Moderation(error.Message + " content_policy_violation", null) ?? new JobError(ErrorCodes.ModerationBlocked, "Blocked by the provider's moderation.", Stage: "prompt"))
                    : UpstreamErrors.Submit(Name, failed, error.Message, error.Type);
            },
            (_, root) => AcceptedIf(UpstreamJson.Str(root, "request_id")),
            () => Log.UnreadableSubmit(Logger, Name, j.Id), "request id", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var requestPath = RequestPath(job);
        if (requestPath is null)
        {
            return new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"'{job.UpstreamModel}' is not a fal model id."));
        }

        using var polled = await GetForPollAsync(
            requestPath + "/status?logs=0",
            (failed, root) =>
            {
                var error = FalError.Read(root);
                return UpstreamErrors.Poll(Name, failed, error.Message, error.Type);
            },
            r => UpstreamJson.Str(r, "status"),
            "the status reply was not readable JSON with a status",
            cancellationToken).ConfigureAwait(false);
        return polled.Outcome ?? await ReadStatusAsync(job, requestPath, polled.Json!, polled.Status!, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What a readable queue status says; a COMPLETED request is a success only once its result is read.</summary>
    private async Task<PollOutcome> ReadStatusAsync(ProviderJob job, string requestPath, JsonDocument json, string status, CancellationToken cancellationToken)
    {
        switch (status.Trim().ToUpperInvariant())
        {
            case "IN_QUEUE":
                return new PollOutcome.Running(0);
            case "IN_PROGRESS":
                return new PollOutcome.Running(null);
            case "COMPLETED":
                if (UpstreamJson.Str(json.RootElement, "error") is { Length: > 0 } failure)
                {
                    var type = UpstreamJson.Str(json.RootElement, "error_type");
                    return new PollOutcome.Failed(type == "content_policy_violation"
                        ? new JobError(ErrorCodes.ModerationBlocked, $"Blocked by the provider's moderation (output): {UpstreamErrors.Clean(failure)}.", Stage: "output")
                        : UpstreamErrors.TaskFailed(Name, $"{failure} ({type})"));
                }

                return await ResultAsync(requestPath, cancellationToken).ConfigureAwait(false);
            default:
                Log.UnknownStatus(Logger, Name, job.Job.Id, status);
                return new PollOutcome.Running(null);
        }
    }

    /// <summary>PUT …/cancel: a queued request is removed; one in progress is signalled and may finish anyway.</summary>
    public override async Task CancelAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (RequestPath(job) is not { } path)
        {
            return;
        }

        using var request = new HttpRequestMessage(HttpMethod.Put, Http.Url(path + "/cancel"));
        try
        {
            var reply = await SendAsync(request, cancellationToken).ConfigureAwait(false);
            using var json = reply.TryJson();
            Log.Cancelled(Logger, Name, job.Job.Id, json is null ? $"HTTP {(int)reply.Status}" : UpstreamJson.Str(json.RootElement, "status") ?? $"HTTP {(int)reply.Status}");
        }
        catch (UpstreamTransportException)
        {
            // Best effort: the job is already cancelled in Reelay.
        }
    }

    /// <inheritdoc />
    protected override void Authorize(HttpRequestHeaders headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        headers.TryAddWithoutValidation("Authorization", "Key " + Options.ApiKey);
    }

    /// <summary>Reads the output of a COMPLETED request: only a 2xx with a video URL is a success.</summary>
    private async Task<PollOutcome> ResultAsync(string requestPath, CancellationToken cancellationToken)
    {
        using var polled = await GetForPollAsync(requestPath, (failed, root) =>
        {
            var error = FalError.Read(root);
            if (error.Moderated)
            {
                return new PollOutcome.Failed(new JobError(ErrorCodes.ModerationBlocked, $"Blocked by the provider's moderation (output): {UpstreamErrors.Clean(error.Message)}.", Stage: "output"));
            }

            // The request finished and failed: a 4xx/5xx result is the request's own failure, not a poll to repeat,
            // except for the transient answers of the queue itself.
            return (int)failed.Status is 429 or 502 or 503
                ? new PollOutcome.RetryLater($"the result answered HTTP {(int)failed.Status}", failed.RetryAfter)
                : new PollOutcome.Failed(UpstreamErrors.TaskFailed(Name, $"{error.Message} ({error.Type ?? "HTTP " + ((int)failed.Status).ToString(CultureInfo.InvariantCulture)})"));
        }, _ => "", "the result was not readable JSON", cancellationToken).ConfigureAwait(false);
        return polled.Outcome ?? (UpstreamJson.Str(polled.Json!.RootElement, "video", "url") is { Length: > 0 } url
            ? new PollOutcome.Succeeded(new ResultLocation(url, IsLocalFile: false))
            : new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' completed the request without video.url in its result.")));
    }

    private static string? RequestPath(ProviderJob job) =>
        FalInputs.AppOf(job.UpstreamModel) is { } app && job.Job.UpstreamId is { Length: > 0 } id ? $"{app}/requests/{Uri.EscapeDataString(id)}" : null;

    private static partial class Log
    {
        [LoggerMessage(LogEventIds.Fal + 0, LogLevel.Warning, "Provider {Provider}: unknown queue status '{Status}' for job {JobId}; treated as still running")]
        public static partial void UnknownStatus(ILogger logger, string provider, string jobId, string status);

        [LoggerMessage(LogEventIds.Fal + 1, LogLevel.Error, "Provider {Provider} accepted the submit of job {JobId} without a readable request id")]
        public static partial void UnreadableSubmit(ILogger logger, string provider, string jobId);

        [LoggerMessage(LogEventIds.Fal + 2, LogLevel.Information, "Provider {Provider}: cancel of job {JobId} answered {Answer}")]
        public static partial void Cancelled(ILogger logger, string provider, string jobId, string answer);
    }
}

/// <summary>fal's error bodies: {"detail": "…" | [{loc, msg, type}], "error_type"}; content_policy_violation is moderation.</summary>
internal readonly record struct FalError(string? Message, string? Type, bool Moderated)
{
    public static FalError Read(JsonElement? root)
    {
        if (root is not { ValueKind: JsonValueKind.Object } r)
        {
            return default;
        }

        var type = UpstreamJson.Str(r, "error_type");
        if (UpstreamJson.At(r, "detail") is { ValueKind: JsonValueKind.Array } list && list.GetArrayLength() > 0)
        {
            var first = list[0];
            var itemType = UpstreamJson.Str(first, "type");
            var loc = UpstreamJson.At(first, "loc") is { ValueKind: JsonValueKind.Array } l ? string.Join(".", l.EnumerateArray().Select(x => x.ToString())) : null;
            var message = $"{UpstreamJson.Str(first, "msg")}{(loc is null ? "" : $" ({loc})")}";
            return new FalError(message, itemType ?? type, itemType == "content_policy_violation" || type == "content_policy_violation");
        }

        return new FalError(UpstreamJson.Str(r, "detail") ?? UpstreamJson.Str(r, "error"), type, type == "content_policy_violation");
    }
}

/// <summary>
/// How a job becomes a fal model's input JSON, by model family (fal has no common schema: each model names and spells its
/// inputs; provider-apis-live.md §3.10). Families are recognised by the model id; any other id gets the common shape
/// (prompt, image_url, duration as a string of seconds, aspect_ratio, resolution, seed, negative_prompt), and fal answers
/// 422 naming the field when a model wants something else.
/// </summary>
internal static class FalInputs
{
    /// <summary>owner/app of a model id (workflows/ and comfy/ ids keep three segments), or null.</summary>
    public static string? AppOf(string modelId)
    {
        var parts = modelId.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var take = parts.Length > 0 && parts[0] is "workflows" or "comfy" ? 3 : 2;
        return parts.Length < take || parts.Any(p => p is "." or ".." || p.Contains('?', StringComparison.Ordinal) || p.Contains('#', StringComparison.Ordinal))
            ? null
            : string.Join('/', parts.Take(take));
    }

    public static string? CheckSupport(Job job, string model)
    {
        var image = job.Mode == VideoMode.ImageToVideo;
        if (HttpVideoProvider.ModeNotOffered(model, image, ["text-to-video"], ["image-to-video"]) is { } mode)
        {
            return mode;
        }

        if (model.Contains("reference-to-video", StringComparison.Ordinal) && (image || job.ReferenceImageKeys.Count == 0))
        {
            return $"{model} is reference-to-video only (reference images, no first frame)";
        }

        var tier = Tier(job);
        if (IsVeo(model))
        {
            if (job.DurationSeconds is not (4 or 6 or 8) || Aspect(job) is not ("16:9" or "9:16") || tier is not ("720p" or "1080p"))
            {
                return $"{model} takes 4, 6 or 8 s at 16:9 or 9:16 in 720p or 1080p (got {job.DurationSeconds} s, {job.Width}x{job.Height})";
            }
        }
        else if (IsKling(model))
        {
            if (job.DurationSeconds is not (5 or 10))
            {
                return $"duration {job.DurationSeconds} s is not offered by {model} (5 or 10)";
            }

            var wanted = model.Contains("/pro/", StringComparison.Ordinal) || model.Contains("/master/", StringComparison.Ordinal) ? "1080p" : "720p";
            if (tier != wanted)
            {
                return $"resolution {tier} is not offered by {model} ({wanted})";
            }
        }

        return null;
    }

    /// <summary>Whether the model family carries option <paramref name="key"/>.</summary>
    public static bool Carries(string model, string key) => key switch
    {
        "negative_prompt" => true,
        "audio" => IsVeo(model),
        "camera_fixed" => IsSeedance(model),
        _ => false,
    };

    public static JsonObject Build(Job job, string model, string? imageDataUri)
    {
        var body = new JsonObject();
        if (!string.IsNullOrEmpty(job.Prompt))
        {
            body["prompt"] = job.Prompt;
        }

        if (imageDataUri is not null)
        {
            body["image_url"] = imageDataUri;
        }

        var seconds = job.DurationSeconds.ToString(CultureInfo.InvariantCulture);
        body["duration"] = IsVeo(model) ? seconds + "s" : seconds;
        if (Aspect(job) is { } aspect && !(IsKling(model) && job.Mode == VideoMode.ImageToVideo))
        {
            body["aspect_ratio"] = aspect; // Kling's image-to-video follows the image
        }

        if (!IsKling(model))
        {
            body["resolution"] = Tier(job);
        }

        if (job.Seed is { } seed && !IsKling(model))
        {
            body["seed"] = seed;
        }

        if (job.Options.GetValueOrDefault("negative_prompt") is { Length: > 0 } negative)
        {
            body["negative_prompt"] = negative;
        }

        if (IsVeo(model) && job.Options.TryGetValue("audio", out var audio) && bool.TryParse(audio, out var on))
        {
            body["generate_audio"] = on;
        }

        if (IsSeedance(model) && job.Options.TryGetValue("camera_fixed", out var fixedText) && bool.TryParse(fixedText, out var isFixed))
        {
            body["camera_fixed"] = isFixed;
        }

        return body;
    }

    private static bool IsVeo(string model) => model.Contains("/veo", StringComparison.Ordinal);

    private static bool IsKling(string model) => model.Contains("kling-video", StringComparison.Ordinal);

    private static bool IsSeedance(string model) => model.Contains("seedance", StringComparison.Ordinal);

    private static string Tier(Job job) => job.Resolution ?? Math.Min(job.Width, job.Height).ToString(CultureInfo.InvariantCulture) + "p";

    private static string? Aspect(Job job)
    {
        if (job.AspectRatio is { } aspect)
        {
            return aspect;
        }

        var g = Gcd(job.Width, job.Height);
        var (w, h) = (job.Width / g, job.Height / g);
        return (w, h) switch
        {
            (16, 9) or (9, 16) or (4, 3) or (3, 4) or (1, 1) or (21, 9) => $"{w}:{h}",
            _ => null,
        };
    }

    private static int Gcd(int a, int b) => b == 0 ? Math.Max(a, 1) : Gcd(b, a % b);
}
