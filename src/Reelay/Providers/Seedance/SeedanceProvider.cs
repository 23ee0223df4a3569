using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers.Http;

namespace Reelay.Providers.Seedance;

/// <summary>
/// ByteDance Seedance on BytePlus ModelArk or Volcengine Ark (provider-apis-live.md §1; the two differ only by host and
/// model-id prefix): POST {base}/contents/generations/tasks with content[] (the prompt as a text item, the first frame as
/// an image_url item with role first_frame, or as reference_image when the job's image_role option says so) and the
/// output spec as strict body fields (resolution, ratio, duration, seed, camera_fixed, watermark, generate_audio; never the
/// lenient prompt flags), GET {base}/contents/generations/tasks/{id}, DELETE of the same path to cancel a queued task,
/// "Authorization: Bearer &lt;key&gt;". Statuses queued, running, succeeded, failed, cancelled and expired. The result URL is a
/// presigned object-store URL (24 h, no key). No lookup by client reference (the API has no field for one).
/// </summary>
public sealed partial class SeedanceProvider(string name, ProviderInstanceOptions options, ProviderServices services)
    : HttpVideoProvider(name, options, services)
{
    // Pixel sizes per resolution and ratio (§1.3). The 2.x series and 1.5 pro share one table; the 1.0 series has its own.
    private static readonly Dictionary<string, (string Resolution, string Ratio)> Series2 = Table(
        ("480p", "16:9", "864x496"), ("480p", "9:16", "496x864"), ("480p", "4:3", "752x560"), ("480p", "1:1", "640x640"), ("480p", "3:4", "560x752"), ("480p", "21:9", "992x432"),
        ("720p", "16:9", "1280x720"), ("720p", "9:16", "720x1280"), ("720p", "4:3", "1112x834"), ("720p", "1:1", "960x960"), ("720p", "3:4", "834x1112"), ("720p", "21:9", "1470x630"),
        ("1080p", "16:9", "1920x1080"), ("1080p", "9:16", "1080x1920"), ("1080p", "4:3", "1664x1248"), ("1080p", "1:1", "1440x1440"), ("1080p", "3:4", "1248x1664"), ("1080p", "21:9", "2206x946"));

    private static readonly Dictionary<string, (string Resolution, string Ratio)> Series1 = Table(
        ("480p", "16:9", "864x480"), ("480p", "9:16", "480x864"), ("480p", "4:3", "736x544"), ("480p", "1:1", "640x640"), ("480p", "3:4", "544x736"), ("480p", "21:9", "960x416"),
        ("720p", "16:9", "1248x704"), ("720p", "9:16", "704x1248"), ("720p", "4:3", "1120x832"), ("720p", "1:1", "960x960"), ("720p", "3:4", "832x1120"), ("720p", "21:9", "1504x640"),
        ("1080p", "16:9", "1920x1088"), ("1080p", "9:16", "1088x1920"), ("1080p", "4:3", "1664x1248"), ("1080p", "1:1", "1440x1440"), ("1080p", "3:4", "1248x1664"), ("1080p", "21:9", "2176x928"));

    /// <summary>Generate; characters go as reference images (<see cref="CharacterReferences"/>) on the models that take them.</summary>
    public override IReadOnlyList<string> Operations { get; } = [JobOperations.Generate, JobOperations.Characters];

    /// <summary>An authenticated list of one task: starts nothing (LIST allows 1 request per second per account).</summary>
    protected override string ProbePath => "contents/generations/tasks?page_num=1&page_size=1";

    /// <inheritdoc />
    public override string? CheckSupport(Job job, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(upstreamModel);
        if ((InputsNotOffered("seedance", job, upstreamModel) ?? CharacterReferences.NotOffered(Catalog, "seedance", job, upstreamModel)) is { } inputs)
        {
            return inputs;
        }

        var family = Family(upstreamModel);
        // Reference images without a first frame go to an image model too (lite-i2v takes them); characters are reference images.
        var image = job.Mode == VideoMode.ImageToVideo || job.ReferenceImageKeys.Count > 0 || job.Characters.Count > 0;
        if (ModeNotOffered(upstreamModel, image, ["-t2v-"], ["-i2v-"]) is { } mode)
        {
            return mode;
        }

        if (Spec(job, upstreamModel) is null)
        {
            return $"size {job.Size} is not one of {upstreamModel}'s resolution and ratio sizes ({string.Join(", ", (family == "1" ? Series1 : Series2).Keys)})";
        }

        if (upstreamModel.Contains("fast-26", StringComparison.Ordinal) || upstreamModel.Contains("mini-26", StringComparison.Ordinal))
        {
            if (Spec(job, upstreamModel)!.Value.Resolution == "1080p")
            {
                return $"resolution 1080p is not offered by {upstreamModel} (480p, 720p)";
            }
        }

        var (min, max) = family switch { "2" => (4, 15), "1.5" => (4, 12), _ => (2, 12) };
        if (job.DurationSeconds < min || job.DurationSeconds > max)
        {
            return $"duration {job.DurationSeconds} s is not offered ({min} to {max})";
        }

        var reference = image && job.Options.GetValueOrDefault("image_role") == "reference_image";
        if (reference && !TakesReferenceImages(upstreamModel))
        {
            return $"image_role=reference_image is not offered by {upstreamModel} (the lite i2v and 2.x models take reference images)";
        }

        return OptionNotOffered(job, (key, value) => key switch
        {
            "watermark" or "camera_fixed" => true,
            "audio" => family is "2" or "1.5",
            "image_role" => value is "first_frame" or "reference_image",
            _ => false,
        }, $" by {upstreamModel}");
    }

    /// <inheritdoc />
    public override async Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var j = job.Job;
        // Seedance takes the images as they are (ratio "adaptive" or the asked ratio crops them upstream): no fitting here.
        var images = await ReadImagesAsync(job, cancellationToken).ConfigureAwait(false);
        var content = new List<SeedanceContent>();
        if (!string.IsNullOrWhiteSpace(j.Prompt))
        {
            content.Add(new SeedanceContent { Type = "text", Text = j.Prompt });
        }

        if (images.First is { } frame)
        {
            var role = j.Options.GetValueOrDefault("image_role") == "reference_image" ? "reference_image" : "first_frame";
            content.Add(new SeedanceContent { Type = "image_url", ImageUrl = new SeedanceImageUrl { Url = frame.DataUri }, Role = role });
        }

        // provider-apis-live.md 1.4: first+last is two image_url items with the roles first_frame and last_frame; reference
        // images are image_url items with the role reference_image (the catalog keeps them apart from a first frame).
        if (images.Last is { } last)
        {
            content.Add(new SeedanceContent { Type = "image_url", ImageUrl = new SeedanceImageUrl { Url = last.DataUri }, Role = "last_frame" });
        }

        // Characters (Seedance has no character API) are reference images too, after the client's own.
        var characters = await CharacterReferences.TryReadAsync(job, cancellationToken).ConfigureAwait(false);
        if (characters.Refused is { } refused)
        {
            return refused;
        }

        foreach (var reference in images.References.Concat(characters.Stills))
        {
            content.Add(new SeedanceContent { Type = "image_url", ImageUrl = new SeedanceImageUrl { Url = reference.DataUri }, Role = "reference_image" });
        }

        var spec = Spec(j, job.UpstreamModel);
        var body = new SeedanceCreate
        {
            Model = job.UpstreamModel,
            Content = content,
            Resolution = spec?.Resolution,
            Ratio = spec?.Ratio,
            Duration = j.DurationSeconds,
            Seed = j.Seed,
            CameraFixed = Bool(j, "camera_fixed"),
            Watermark = Bool(j, "watermark") ?? false,
            GenerateAudio = Bool(j, "audio"),
            CallbackUrl = CallbackUrl(job),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, Http.Url("contents/generations/tasks"))
        {
            Content = JsonContent.Create(body, SeedanceJsonContext.Default.SeedanceCreate),
        };
        // A 2xx without an id ("empty 200" under load is reported): the task may exist and bill; never resubmit blindly.
        return await SubmitJsonAsync(
            request,
            (failed, root) => SubmitError(failed, root is { } c ? UpstreamJson.Str(c, "error", "code") : null, root is { } m ? UpstreamJson.Str(m, "error", "message") : null, j.Mode),
            (_, root) => AcceptedIf(UpstreamJson.Str(root, "id")),
            () => Log.UnreadableSubmit(Logger, Name, j.Id), "task id", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return PollJsonAsync(
            "contents/generations/tasks/" + Uri.EscapeDataString(job.Job.UpstreamId!), PollError(e => UpstreamJson.Str(e, "error", "message"), e => UpstreamJson.Str(e, "error", "code")),
            r => UpstreamJson.Str(r, "status"),
            "the task reply was not readable JSON with a status",
            (json, status) => ReadStatus(job, json, status),
            cancellationToken);
    }

    /// <summary>What a readable status reply says about the job.</summary>
    private PollOutcome ReadStatus(ProviderJob job, JsonDocument json, string status)
    {
        var r = json.RootElement;
        switch (status.Trim().ToLowerInvariant())
        {
            case "queued":
                return new PollOutcome.Running(0);
            case "running":
                return new PollOutcome.Running(null); // Ark reports no progress
            case "succeeded":
                return UpstreamJson.Str(r, "content", "video_url") is { Length: > 0 } url
                    ? new PollOutcome.Succeeded(new ResultLocation(url, IsLocalFile: false))
                    : new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' reported success without content.video_url."));
            case "failed":
                return new PollOutcome.Failed(TaskError(UpstreamJson.Str(r, "error", "code"), UpstreamJson.Str(r, "error", "message"), job.Job.Mode));
            case "expired":
                return new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamTimeout, $"Provider '{Name}' expired the task: it did not finish within its execution_expires_after."));
            case "cancelled":
                return new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' reports the task was cancelled upstream."));
            default:
                Log.UnknownStatus(Logger, Name, job.Job.Id, status);
                return new PollOutcome.Running(null);
        }
    }

    /// <summary>DELETE cancels a task that is still queued; a running one cannot be cancelled (Ark refuses), and that refusal is ignored.</summary>
    public override async Task CancelAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Job.UpstreamId is not { Length: > 0 } id)
        {
            return;
        }

        using var request = new HttpRequestMessage(HttpMethod.Delete, Http.Url("contents/generations/tasks/" + Uri.EscapeDataString(id)));
        try
        {
            var reply = await SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!reply.IsSuccess)
            {
                Log.CancelRefused(Logger, Name, job.Job.Id, UpstreamErrors.Number(reply.Status));
            }
        }
        catch (UpstreamTransportException)
        {
            // Best effort: the task runs to its end upstream; the job is already cancelled in Reelay.
        }
    }

    /// <inheritdoc />
    protected override void Authorize(HttpRequestHeaders headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        headers.Authorization = new AuthenticationHeaderValue("Bearer", Options.ApiKey);
    }

    private SubmitOutcome SubmitError(UpstreamReply reply, string? code, string? message, VideoMode mode)
    {
        var status = (int)reply.Status;
        var text = UpstreamErrors.Clean(message);
        var said = text.Length > 0 ? $" ({code}: {text})" : $" ({code})";
        if (code is not null && code.Contains("SensitiveContentDetected", StringComparison.Ordinal))
        {
            return new SubmitOutcome.Rejected(TaskError(code, message, mode));
        }

        return (status, code) switch
        {
            (429, "QuotaExceeded") => new SubmitOutcome.Rejected(new JobError(ErrorCodes.UpstreamQuota, $"Provider '{Name}' refused: the free quota is used up{said}.")),
            (403, "AccountOverdueError") => new SubmitOutcome.Rejected(new JobError(ErrorCodes.UpstreamQuota, $"Provider '{Name}' refused: the account is overdue{said}.")),
            (400, "InvalidEndpoint.ClosedEndpoint") => new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' has closed the endpoint{said}.")),
            _ => UpstreamErrors.Submit(Name, reply, message, code),
        };
    }

    /// <summary>A task's error (or a 400's): moderation codes name their stage; anything else is a failure of the task.</summary>
    private JobError TaskError(string? code, string? message, VideoMode mode)
    {
        var text = UpstreamErrors.Clean(message);
        var said = text.Length > 0 ? $" ({code}: {text})" : $" ({code})";
        if (code is not null && code.Contains("SensitiveContentDetected", StringComparison.Ordinal))
        {
            var stage = code.StartsWith("Output", StringComparison.Ordinal) ? "output"
                : code.StartsWith("InputImage", StringComparison.Ordinal) ? "input_image"
                : code.StartsWith("InputText", StringComparison.Ordinal) ? "prompt"
                : mode == VideoMode.ImageToVideo && (message?.Contains("image", StringComparison.OrdinalIgnoreCase) ?? false) ? "input_image" : "prompt";
            return new JobError(ErrorCodes.ModerationBlocked, $"Blocked by the provider's moderation ({stage}){said}.", Stage: stage);
        }

        return UpstreamErrors.TaskFailed(Name, text.Length > 0 ? $"{code}: {text}" : code);
    }

    /// <summary>The resolution and ratio Ark names the job's exact size by, or null when the model family has no such size.</summary>
    private static (string Resolution, string Ratio)? Spec(Job job, string upstreamModel) =>
        (Family(upstreamModel) == "1" ? Series1 : Series2).TryGetValue($"{job.Width}x{job.Height}", out var spec) ? spec : null;

    /// <summary>"2", "1.5" or "1" from a BytePlus or doubao- (CN) model id; an endpoint id (ep-…) counts as the 2.x/1.5 family.</summary>
    private static string Family(string model) =>
        model.Contains("seedance-1-0", StringComparison.Ordinal) ? "1"
        : model.Contains("seedance-1-5", StringComparison.Ordinal) ? "1.5"
        : "2";

    private static bool TakesReferenceImages(string model) =>
        model.Contains("lite-i2v", StringComparison.Ordinal) || model.Contains("seedance-2", StringComparison.Ordinal);

    private static bool? Bool(Job job, string key) => job.Options.TryGetValue(key, out var v) && bool.TryParse(v, out var b) ? b : null;

    private static Dictionary<string, (string, string)> Table(params (string Resolution, string Ratio, string Size)[] rows) =>
        rows.ToDictionary(r => r.Size, r => (r.Resolution, r.Ratio), StringComparer.Ordinal);

    private static partial class Log
    {
        [LoggerMessage(LogEventIds.Seedance + 0, LogLevel.Warning, "Provider {Provider}: unknown task status '{Status}' for job {JobId}; treated as still running")]
        public static partial void UnknownStatus(ILogger logger, string provider, string jobId, string status);

        [LoggerMessage(LogEventIds.Seedance + 1, LogLevel.Error, "Provider {Provider} accepted the submit of job {JobId} without a readable task id")]
        public static partial void UnreadableSubmit(ILogger logger, string provider, string jobId);

        [LoggerMessage(LogEventIds.Seedance + 2, LogLevel.Information, "Provider {Provider} refused to cancel the task of job {JobId} (HTTP {Status}); only queued tasks can be cancelled")]
        public static partial void CancelRefused(ILogger logger, string provider, string jobId, int status);
    }
}
