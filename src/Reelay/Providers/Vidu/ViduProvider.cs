using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers.Http;

namespace Reelay.Providers.Vidu;

/// <summary>
/// Vidu's official API (provider-apis.md §5): POST {base}/ent/v2/img2video or /ent/v2/text2video (JSON),
/// GET {base}/ent/v2/tasks/{id}/creations, with "Authorization: Token &lt;key&gt;". States created, queueing, processing,
/// success and failed (with err_code); results are signed CDN URLs that expire, and a new poll signs fresh ones.
/// start-end2video and reference2video are not used (Reelay jobs have one first frame). No cancel is used. Each submit
/// carries the attempt's client reference as <c>payload</c>; after a crash mid-submit, <see cref="RecoverSubmitAsync"/>
/// finds the task by it in the task list (GET {base}/ent/v2/tasks).
/// </summary>
public sealed partial class ViduProvider(string name, ProviderInstanceOptions options, ProviderServices services)
    : HttpVideoProvider(name, options, services)
{
    private static readonly string[] Q2Tiers = ["540p", "720p", "1080p"];
    private static readonly string[] Q2Aspects = ["16:9", "9:16", "3:4", "4:3", "1:1"];
    private static readonly string[] Q1Aspects = ["16:9", "9:16", "1:1"];

    // What §5 documents per model. Model ids not listed (newer ones such as viduq3-*) go through unchecked.
    private static readonly Dictionary<string, ViduModel> Models = new(StringComparer.Ordinal)
    {
        ["viduq2-pro"] = new(Text: false, Image: true, MinSeconds: 1, MaxSeconds: 10, Tiers: Q2Tiers, Aspects: []),
        ["viduq2-turbo"] = new(Text: false, Image: true, MinSeconds: 1, MaxSeconds: 10, Tiers: Q2Tiers, Aspects: []),
        ["viduq2-pro-fast"] = new(Text: false, Image: true, MinSeconds: 1, MaxSeconds: 10, Tiers: ["720p", "1080p"], Aspects: []),
        ["viduq2"] = new(Text: true, Image: false, MinSeconds: 1, MaxSeconds: 10, Tiers: Q2Tiers, Aspects: Q2Aspects),
        ["viduq1"] = new(Text: true, Image: true, MinSeconds: 5, MaxSeconds: 5, Tiers: ["1080p"], Aspects: Q1Aspects),
        ["viduq1-classic"] = new(Text: false, Image: true, MinSeconds: 5, MaxSeconds: 5, Tiers: ["1080p"], Aspects: []),
        ["vidu2.0"] = new(Text: false, Image: true, MinSeconds: 4, MaxSeconds: 8, Tiers: ["360p", "720p", "1080p"], Aspects: []),
    };

    /// <inheritdoc />
    protected override string ProbePath => "ent/v2/tasks/reelay-probe/creations";

    /// <inheritdoc />
    public override string? CheckSupport(Job job, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(upstreamModel);
        var image = job.Mode == VideoMode.ImageToVideo;
        if (Models.TryGetValue(upstreamModel, out var model))
        {
            if (image ? !model.Image : !model.Text)
            {
                return $"{upstreamModel} is {(model.Image ? "image" : "text")}-to-video only on Vidu";
            }

            if (upstreamModel == "vidu2.0" ? job.DurationSeconds is not (4 or 8) : job.DurationSeconds < model.MinSeconds || job.DurationSeconds > model.MaxSeconds)
            {
                var allowed = upstreamModel == "vidu2.0" ? "4 or 8" : model.MinSeconds == model.MaxSeconds ? $"{model.MinSeconds}" : $"{model.MinSeconds} to {model.MaxSeconds}";
                return $"duration {job.DurationSeconds} s is not offered ({allowed})";
            }

            var tiers = upstreamModel == "vidu2.0" && job.DurationSeconds == 8 ? ["720p"] : model.Tiers;
            if (!tiers.Contains(Tier(job)))
            {
                return $"resolution {Tier(job)} is not offered ({string.Join(", ", tiers)})";
            }

            if (!image && !model.Aspects.Contains(Aspect(job)))
            {
                return $"aspect ratio {Aspect(job)} is not offered ({string.Join(", ", model.Aspects)})";
            }
        }

        foreach (var (key, value) in job.ModelOptions())
        {
            var offered = key switch
            {
                "movement_amplitude" or "watermark" => true,
                "bgm" => !image, // text2video takes bgm; img2video has no such field
                _ => false,
            };
            if (!offered && value is not ("false" or "" or "auto"))
            {
                return key == "bgm"
                    ? $"option bgm={value} is not offered by Vidu img2video (only text2video takes bgm)"
                    : $"option {key}={value} is not offered by Vidu";
            }
        }

        return null;
    }

    /// <inheritdoc />
    public override async Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var j = job.Job;
        // Vidu takes the image as it is (the output follows its aspect ratio): no fitting.
        var frame = j.Mode == VideoMode.ImageToVideo ? await Frames.ReadAsync(job, null, null, Options.FirstFrameFit, cancellationToken).ConfigureAwait(false) : null;
        var body = new ViduCreate
        {
            Model = job.UpstreamModel,
            Images = frame is null ? null : [frame.DataUri],
            Prompt = j.Prompt,
            Duration = j.DurationSeconds,
            Seed = j.Seed,
            AspectRatio = frame is null ? Aspect(j) : null,
            Resolution = Tier(j),
            MovementAmplitude = j.Options.GetValueOrDefault("movement_amplitude") is { Length: > 0 } movement ? movement : null,
            Bgm = frame is null && j.Options.TryGetValue("bgm", out var b) && bool.TryParse(b, out var bgm) ? bgm : null,
            Watermark = j.Options.TryGetValue("watermark", out var w) && bool.TryParse(w, out var watermark) ? watermark : null,
            Payload = job.ClientReference ?? j.Id,
            CallbackUrl = CallbackUrl(job),
        };
        var path = frame is null ? "ent/v2/text2video" : "ent/v2/img2video";
        var content = JsonContent.Create(body, ViduJsonContext.Default.ViduCreate);
        using var request = new HttpRequestMessage(HttpMethod.Post, Http.Url(path)) { Content = content };
        return await SubmitJsonAsync(
            request,
            (failed, root) => SubmitError(failed, root, j.Mode),
            (_, root) => UpstreamJson.Str(root, "task_id") is not { Length: > 0 } taskId ? null
                : UpstreamJson.Str(root, "state") is { } state && state.Equals("failed", StringComparison.OrdinalIgnoreCase)
                    ? new SubmitOutcome.Rejected(TaskFailure(UpstreamJson.Str(root, "err_code"), j.Mode))
                    : new SubmitOutcome.Accepted(taskId),
            () => Log.UnreadableSubmit(Logger, Name, j.Id), "task id", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What a non-2xx submit answer means, by Vidu's reason.</summary>
    private SubmitOutcome SubmitError(UpstreamReply reply, JsonElement? root, VideoMode mode)
    {
        var reason = ViduErrors.Reason(root);
        var message = ViduErrors.Message(root);
        if (ViduErrors.IsThrottle(reason) && (int)reply.Status is >= 400 and < 500)
        {
            var text = UpstreamErrors.Clean(message);
            return new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamRateLimited, $"Provider '{Name}' is rate limiting requests ({reason}{(text.Length > 0 ? ": " + text : "")})."), reply.RetryAfter);
        }

        return ViduErrors.Known(Name, reason, message, mode) is { } known
            ? new SubmitOutcome.Rejected(known)
            : UpstreamErrors.Submit(Name, reply, message, reason);
    }

    /// <inheritdoc />
    public override Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return PollJsonAsync(
            "ent/v2/tasks/" + Uri.EscapeDataString(job.Job.UpstreamId!) + "/creations", (failed, root) =>
            ViduErrors.IsThrottle(ViduErrors.Reason(root))
                ? new PollOutcome.RetryLater("the provider is rate limiting", failed.RetryAfter)
                : UpstreamErrors.Poll(Name, failed, ViduErrors.Message(root), ViduErrors.Reason(root)),
            r => UpstreamJson.Str(r, "state") ?? UpstreamJson.Str(r, "status"),
            "the creations reply was not readable JSON with a state",
            (json, state) => ReadStatus(job, json, state),
            cancellationToken);
    }

    /// <summary>What a readable status reply says about the job.</summary>
    private PollOutcome ReadStatus(ProviderJob job, JsonDocument json, string state)
    {
        // The callback body names the field "status" where GET says "state" (§5.3): accept both.
        var root2 = json.RootElement;
        switch (state.Trim().ToLowerInvariant())
        {
            case "created" or "queueing" or "queuing" or "queued" or "pending" or "scheduling":
                return new PollOutcome.Running(0);
            case "processing" or "running" or "generating":
                return new PollOutcome.Running(UpstreamJson.Int(root2, "progress"));
            case "success" or "succeeded" or "completed":
                var watermarked = job.Job.Options.GetValueOrDefault("watermark") == "true";
                var creation = UpstreamJson.At(root2, "creations") is { ValueKind: JsonValueKind.Array } list && list.GetArrayLength() > 0 ? list[0] : (JsonElement?)null;
                var url = creation is { } c
                    ? (watermarked ? UpstreamJson.Str(c, "watermarked_url") : null) ?? UpstreamJson.Str(c, "url")
                    : null;
                return url is { Length: > 0 }
                    ? new PollOutcome.Succeeded(new ResultLocation(url, IsLocalFile: false))
                    : new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' reported success without a creation URL."));
            case "failed" or "failure" or "error":
                return new PollOutcome.Failed(TaskFailure(UpstreamJson.Str(root2, "err_code"), job.Job.Mode));
            default:
                Log.UnknownState(Logger, Name, job.Job.Id, state);
                return new PollOutcome.Running(null);
        }
    }

    /// <summary>
    /// Lists the account's tasks created since the interrupted call started (less <see cref="ListClockSkew"/>), newest
    /// first, page by page: GET {base}/ent/v2/tasks?created_at.from=&lt;ISO 8601&gt;&amp;pager.page=&lt;n&gt;&amp;pager.pagesz=100, answered
    /// with {"tasks":[{id, state, payload, created_at, ...}], "next_page_token"} (the shape third-party clients use; the
    /// reference has the route only). Found: the task whose payload is the call's client reference. NotFound: every page
    /// was read (a short page without a next token, within <see cref="MaxListPages"/>), each task readable, and none carries
    /// the reference; Vidu creates the task inside the create call (its reply has the task id), so once that call can no
    /// longer be running (the engine waits for that) a complete list is authoritative. Anything else is Unknown.
    /// </summary>
    public override async Task<RecoveryOutcome> RecoverSubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.ClientReference is not { Length: > 0 } reference || job.Job.SubmitCall is not { } call)
        {
            return new RecoveryOutcome.Unknown();
        }

        var from = (call.StartedAt - ListClockSkew).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        for (var page = 0; page < MaxListPages; page++)
        {
            var query = $"ent/v2/tasks?created_at.from={Uri.EscapeDataString(from)}&pager.page={page.ToString(CultureInfo.InvariantCulture)}&pager.pagesz={ListPageSize.ToString(CultureInfo.InvariantCulture)}";
            using var json = await TryGetJsonAsync(query, cancellationToken).ConfigureAwait(false);
            var tasks = json is null ? null : UpstreamJson.At(json.RootElement, "tasks") ?? UpstreamJson.At(json.RootElement, "data");
            if (tasks is not { ValueKind: JsonValueKind.Array } list)
            {
                return new RecoveryOutcome.Unknown();
            }

            foreach (var task in list.EnumerateArray())
            {
                var id = task.ValueKind == JsonValueKind.Object ? UpstreamJson.Str(task, "id") ?? UpstreamJson.Str(task, "task_id") : null;
                if (id is null)
                {
                    return new RecoveryOutcome.Unknown(); // an unreadable entry could be the one
                }

                if (UpstreamJson.Str(task, "payload") == reference)
                {
                    return new RecoveryOutcome.Found(id);
                }
            }

            var next = json!.RootElement.ValueKind == JsonValueKind.Object ? UpstreamJson.Str(json.RootElement, "next_page_token") : null;
            if (list.GetArrayLength() < ListPageSize && string.IsNullOrEmpty(next))
            {
                return new RecoveryOutcome.NotFound();
            }
        }

        return new RecoveryOutcome.Unknown();
    }

    /// <summary>How far before the recorded start of a call its task may carry Vidu's created_at (the two clocks differ).</summary>
    internal static TimeSpan ListClockSkew { get; } = TimeSpan.FromMinutes(2);

    /// <summary>Tasks per page of the list.</summary>
    internal const int ListPageSize = 100;

    /// <summary>Pages read at most before a lookup gives up (Unknown).</summary>
    internal const int MaxListPages = 20;

    private JobError TaskFailure(string? errCode, VideoMode mode) =>
        ViduErrors.Known(Name, errCode, null, mode) ?? UpstreamErrors.TaskFailed(Name, string.IsNullOrEmpty(errCode) ? null : $"err_code {errCode}");

    /// <inheritdoc />
    protected override void Authorize(HttpRequestHeaders headers) => headers.TryAddWithoutValidation("Authorization", "Token " + Options.ApiKey);

    private static string Tier(Job job) => job.Resolution ?? Math.Min(job.Width, job.Height).ToString(CultureInfo.InvariantCulture) + "p";

    private static string Aspect(Job job)
    {
        if (job.AspectRatio is { Length: > 0 } named)
        {
            return named;
        }

        // An explicit size names no ratio: take the documented one it is (sizes are rounded to even pixels, so within 1 %).
        var ratio = (double)job.Width / job.Height;
        foreach (var aspect in Q2Aspects)
        {
            var parts = aspect.Split(':');
            if (Math.Abs((double.Parse(parts[0], CultureInfo.InvariantCulture) / double.Parse(parts[1], CultureInfo.InvariantCulture)) - ratio) / ratio < 0.01)
            {
                return aspect;
            }
        }

        return $"{job.Width}:{job.Height}";
    }

    private sealed record ViduModel(bool Text, bool Image, int MinSeconds, int MaxSeconds, string[] Tiers, string[] Aspects);

    private static partial class Log
    {
        [LoggerMessage(LogEventIds.Vidu + 0, LogLevel.Warning, "Provider {Provider}: unknown task state '{State}' for job {JobId}; treated as still running")]
        public static partial void UnknownState(ILogger logger, string provider, string jobId, string state);

        [LoggerMessage(LogEventIds.Vidu + 1, LogLevel.Error, "Provider {Provider} accepted the submit of job {JobId} without a readable task id")]
        public static partial void UnreadableSubmit(ILogger logger, string provider, string jobId);
    }
}
