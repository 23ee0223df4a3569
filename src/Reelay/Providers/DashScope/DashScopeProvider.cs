using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers.Http;

namespace Reelay.Providers.DashScope;

/// <summary>
/// Alibaba Model Studio / DashScope video synthesis (Wan; provider-apis-live.md §5): POST
/// {base}/services/aigc/video-generation/video-synthesis with "X-DashScope-Async: enable" and "Authorization: Bearer
/// &lt;key&gt;", in one of two body shapes by model generation: the legacy one (wan2.1-2.6: input.prompt and input.img_url,
/// parameters.size "W*H" for text or parameters.resolution for image) and the media one (wan2.7 and wan3.0:
/// input.media[{type:first_frame,url}], parameters.resolution and, for text, parameters.ratio). GET {base}/tasks/{id}
/// (PENDING, RUNNING, SUCCEEDED, FAILED with output.code/message, CANCELED, UNKNOWN), POST {base}/tasks/{id}/cancel
/// (pending only). The region is the BaseUrl's host, and key, host and model must share it. No crash lookup.
/// Reference-to-video (wan2.6-r2v and its flash variant, legacy body): input.reference_urls lists the reference images
/// (the prompt names them character1, character2, … in that order) with parameters.size "W*H", 720P or 1080P, 2-10 s.
/// </summary>
public sealed partial class DashScopeProvider(string name, ProviderInstanceOptions options, ProviderServices services)
    : HttpVideoProvider(name, options, services)
{
    // wan2.5's documented sizes per tier (§5.10); the media generation is assumed to take the same shapes at 720P/1080P.
    private static readonly Dictionary<string, (string Tier, string Ratio)> Sizes = new(StringComparer.Ordinal)
    {
        ["832x480"] = ("480P", "16:9"), ["480x832"] = ("480P", "9:16"), ["624x624"] = ("480P", "1:1"),
        ["1280x720"] = ("720P", "16:9"), ["720x1280"] = ("720P", "9:16"), ["960x960"] = ("720P", "1:1"), ["1088x832"] = ("720P", "4:3"), ["832x1088"] = ("720P", "3:4"),
        ["1920x1080"] = ("1080P", "16:9"), ["1080x1920"] = ("1080P", "9:16"), ["1440x1440"] = ("1080P", "1:1"), ["1632x1248"] = ("1080P", "4:3"), ["1248x1632"] = ("1080P", "3:4"),
    };

    /// <summary>The status of an unknown task: DashScope answers 200 with UNKNOWN to a good key, 401 to a bad one.</summary>
    protected override string ProbePath => "tasks/00000000-0000-0000-0000-000000000000";

    /// <inheritdoc />
    public override string? CheckSupport(Job job, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(upstreamModel);
        // The catalog says which DashScope models take a last frame (wan2.7-i2v) or reference images (wan2.6-r2v) and how many.
        if (InputsNotOffered("dashscope", job, upstreamModel) is { } inputs)
        {
            return inputs;
        }

        var image = job.Mode == VideoMode.ImageToVideo;
        if (IsReferenceModel(upstreamModel) && (image || job.ReferenceImageKeys.Count == 0))
        {
            return $"{upstreamModel} is reference-to-video only (reference images, no first frame)";
        }

        if (ModeNotOffered(upstreamModel, image, ["-t2v"], ["-i2v", "-kf2v"]) is { } mode)
        {
            return mode;
        }

        if (!Sizes.TryGetValue($"{job.Width}x{job.Height}", out var shape))
        {
            return $"size {job.Width}x{job.Height} is not one of Wan's sizes ({string.Join(", ", Sizes.Keys)})";
        }

        var media = IsMediaGeneration(upstreamModel);
        if ((media || IsReferenceModel(upstreamModel)) && shape.Tier == "480P")
        {
            return $"resolution 480P is not offered by {upstreamModel} (720P, 1080P)";
        }

        var durations = IsReferenceModel(upstreamModel) ? "2 to 10" : media ? "2 to 15" : upstreamModel.StartsWith("wan2.5", StringComparison.Ordinal) ? "5 or 10" : upstreamModel.StartsWith("wan2.6", StringComparison.Ordinal) ? "2 to 15" : "5";
        var offered = durations switch
        {
            "2 to 15" => job.DurationSeconds is >= 2 and <= 15,
            "2 to 10" => job.DurationSeconds is >= 2 and <= 10,
            "5 or 10" => job.DurationSeconds is 5 or 10,
            _ => job.DurationSeconds == 5,
        };
        if (!offered)
        {
            return $"duration {job.DurationSeconds} s is not offered by {upstreamModel} ({durations})";
        }

        // shot_type (single or multi-shot) is a wan2.6 parameter (provider-apis-live.md 5.3).
        var shots = upstreamModel.StartsWith("wan2.6", StringComparison.Ordinal);
        return OptionNotOffered(job, (key, _) => key is "negative_prompt" or "watermark" or "prompt_extend" || (shots && key == "shot_type"), $" by {upstreamModel}");
    }

    /// <inheritdoc />
    public override async Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var j = job.Job;
        // provider-apis-live.md 5.3: wan2.7-i2v takes the last frame as a media item of type last_frame after the first.
        // Reference images (wan2.6-r2v): data URIs, as img_url takes them, in the order the prompt names them (character1, …).
        var images = await ReadImagesAsync(job, cancellationToken).ConfigureAwait(false);
        var references = images.References.Count > 0 ? images.References.Select(r => r.DataUri).ToList() : null;
        var body = Body(j, job.UpstreamModel, images.First?.DataUri, images.Last?.DataUri, references);
        using var request = new HttpRequestMessage(HttpMethod.Post, Http.Url("services/aigc/video-generation/video-synthesis"))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("X-DashScope-Async", "enable");
        return await SubmitJsonAsync(
            request,
            (failed, root) => SubmitError(failed, root, j),
            (_, root) => AcceptedIf(UpstreamJson.Str(root, "output", "task_id")),
            () => Log.UnreadableSubmit(Logger, Name, j.Id), "task id", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What a non-2xx submit answer means, by DashScope's error code.</summary>
    private SubmitOutcome SubmitError(UpstreamReply reply, JsonElement? root, Job j)
    {
        var code = root is { } c ? UpstreamJson.Str(c, "code") : null;
        var message = root is { } m ? UpstreamJson.Str(m, "message") : null;
        var text = UpstreamErrors.Clean(message);
        var said = text.Length > 0 ? $" ({code}: {text})" : $" ({code})";
        return code switch
        {
            "DataInspectionFailed" or "IPInfringementSuspect" => new SubmitOutcome.Rejected(new JobError(ErrorCodes.ModerationBlocked, $"Blocked by the provider's moderation ({Stage(j)}){said}.", Stage: Stage(j))),
            "Arrearage" => new SubmitOutcome.Rejected(new JobError(ErrorCodes.UpstreamQuota, $"Provider '{Name}' refused: the account is in arrears{said}.")),
            "InvalidApiKey" => new SubmitOutcome.Rejected(new JobError(ErrorCodes.UpstreamAuth, $"Provider '{Name}' refused the gateway's credential (InvalidApiKey; the key, the BaseUrl's region and the model must match). The operator must check its API key.")),
            { } throttle when throttle.StartsWith("Throttling", StringComparison.Ordinal) => new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamRateLimited, $"Provider '{Name}' is rate limiting requests{said}."), reply.RetryAfter),
            _ => UpstreamErrors.Submit(Name, reply, message, code),
        };
    }

    /// <inheritdoc />
    public override Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return PollJsonAsync(
            "tasks/" + Uri.EscapeDataString(job.Job.UpstreamId!), (failed, root) =>
        {
            var code = root is { } c ? UpstreamJson.Str(c, "code") : null;
            return code is { } throttle && throttle.StartsWith("Throttling", StringComparison.Ordinal)
                ? new PollOutcome.RetryLater("the provider is rate limiting", failed.RetryAfter)
                : UpstreamErrors.Poll(Name, failed, root is { } m ? UpstreamJson.Str(m, "message") : null, code);
        }, r => UpstreamJson.Str(r, "output", "task_status"), "the task reply was not readable JSON with output.task_status",
            (json, status) => ReadStatus(job, json, status),
            cancellationToken);
    }

    /// <summary>What a readable status reply says about the job.</summary>
    private PollOutcome ReadStatus(ProviderJob job, JsonDocument json, string status)
    {
        var r = json.RootElement;
        switch (status.Trim().ToUpperInvariant())
        {
            case "PENDING":
                return new PollOutcome.Running(0);
            case "RUNNING" or "SUSPENDED":
                return new PollOutcome.Running(null);
            case "SUCCEEDED":
                return UpstreamJson.Str(r, "output", "video_url") is { Length: > 0 } url
                    ? new PollOutcome.Succeeded(new ResultLocation(url, IsLocalFile: false))
                    : new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' reported success without output.video_url."));
            case "FAILED":
                var code = UpstreamJson.Str(r, "output", "code");
                var message = UpstreamJson.Str(r, "output", "message");
                if (code is "DataInspectionFailed" or "IPInfringementSuspect")
                {
                    var stage = message?.Contains("Output", StringComparison.OrdinalIgnoreCase) ?? false ? "output" : Stage(job.Job);
                    return new PollOutcome.Failed(new JobError(ErrorCodes.ModerationBlocked, $"Blocked by the provider's moderation ({stage}) ({code}: {UpstreamErrors.Clean(message)}).", Stage: stage));
                }

                return new PollOutcome.Failed(UpstreamErrors.TaskFailed(Name, code is null ? message : $"{code}: {message}"));
            case "CANCELED" or "CANCELLED":
                return new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' reports the task was cancelled upstream."));
            case "UNKNOWN":
                return new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' no longer knows the task (UNKNOWN: task ids expire after 24 hours)."));
            default:
                Log.UnknownStatus(Logger, Name, job.Job.Id, status);
                return new PollOutcome.Running(null);
        }
    }

    /// <summary>POST tasks/{id}/cancel cancels a PENDING task; a running one cannot be cancelled (ignored).</summary>
    public override async Task CancelAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Job.UpstreamId is not { Length: > 0 } id)
        {
            return;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, Http.Url("tasks/" + Uri.EscapeDataString(id) + "/cancel"));
        try
        {
            await SendAsync(request, cancellationToken).ConfigureAwait(false);
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
        headers.Authorization = new AuthenticationHeaderValue("Bearer", Options.ApiKey);
    }

    /// <summary>The request body in the model generation's shape.</summary>
    private static JsonObject Body(Job job, string model, string? imageDataUri, string? lastFrameDataUri = null, List<string>? references = null)
    {
        (string Tier, string Ratio) shape = Sizes.GetValueOrDefault($"{job.Width}x{job.Height}", ("720P", "16:9"));
        var input = new JsonObject();
        if (!string.IsNullOrEmpty(job.Prompt))
        {
            input["prompt"] = job.Prompt;
        }

        if (job.Options.GetValueOrDefault("negative_prompt") is { Length: > 0 } negative)
        {
            input["negative_prompt"] = negative;
        }

        var parameters = new JsonObject { ["duration"] = job.DurationSeconds };
        if (IsMediaGeneration(model))
        {
            if (imageDataUri is not null)
            {
                var items = new JsonArray(new JsonObject { ["type"] = "first_frame", ["url"] = imageDataUri });
                if (lastFrameDataUri is not null)
                {
                    items.Add(new JsonObject { ["type"] = "last_frame", ["url"] = lastFrameDataUri });
                }

                input["media"] = items;
            }
            else
            {
                parameters["ratio"] = shape.Ratio;
            }

            parameters["resolution"] = shape.Tier;
        }
        else if (imageDataUri is not null)
        {
            input["img_url"] = imageDataUri;
            parameters["resolution"] = shape.Tier;
        }
        else
        {
            parameters["size"] = $"{job.Width}*{job.Height}";
            if (references is { Count: > 0 })
            {
                input["reference_urls"] = new JsonArray([.. references.Select(r => (JsonNode?)JsonValue.Create(r))]);
            }
        }

        if (job.Seed is { } seed)
        {
            parameters["seed"] = seed;
        }

        foreach (var flag in (string[])["watermark", "prompt_extend"])
        {
            if (job.Options.TryGetValue(flag, out var text) && bool.TryParse(text, out var on))
            {
                parameters[flag] = on;
            }
        }

        if (job.Options.GetValueOrDefault("shot_type") is { Length: > 0 } shotType)
        {
            parameters["shot_type"] = shotType;
        }

        return new JsonObject { ["model"] = model, ["input"] = input, ["parameters"] = parameters };
    }

    /// <summary>Reference-to-video models (wan2.6-r2v, wan2.6-r2v-flash): input.reference_urls, no first frame.</summary>
    private static bool IsReferenceModel(string model) => model.Contains("-r2v", StringComparison.Ordinal);

    /// <summary>wan2.7, wan3.0 and later take input.media[] and resolution (+ ratio); earlier ones the legacy fields.</summary>
    private static bool IsMediaGeneration(string model) =>
        model.StartsWith("wan2.7", StringComparison.Ordinal) || model.StartsWith("wan3", StringComparison.Ordinal);

    private static string Stage(Job job) => job.Mode == VideoMode.ImageToVideo ? "input_image" : "prompt";

    private static partial class Log
    {
        [LoggerMessage(LogEventIds.DashScope + 0, LogLevel.Warning, "Provider {Provider}: unknown task status '{Status}' for job {JobId}; treated as still running")]
        public static partial void UnknownStatus(ILogger logger, string provider, string jobId, string status);

        [LoggerMessage(LogEventIds.DashScope + 1, LogLevel.Error, "Provider {Provider} accepted the submit of job {JobId} without a readable task id")]
        public static partial void UnreadableSubmit(ILogger logger, string provider, string jobId);
    }
}
