using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers.Http;

namespace Reelay.Providers.ModelVerse;

/// <summary>
/// UCloud ModelVerse's task API (provider-apis.md §1): POST /v1/tasks/submit, GET /v1/tasks/status?task_id=,
/// "Authorization: &lt;key&gt;" without Bearer, a task failure inside HTTP 200, and no cancel or lookup by reference.
/// </summary>
public sealed partial class ModelVerseProvider : HttpVideoProvider
{
    private static readonly int[] SoraDurations = [4, 8, 12];
    private static readonly string[] SoraSizes = ["720x1280", "1280x720"];
    private static readonly string[] SoraProSizes = ["720x1280", "1280x720", "1024x1792", "1792x1024"];
    private static readonly string[] ViduTiers = ["360p", "540p", "720p", "1080p"];

    private readonly ILogger _log;

    /// <summary>Creates the adapter.</summary>
    public ModelVerseProvider(string name, ProviderInstanceOptions options, ProviderServices services)
        : base(name, options, services)
    {
        _log = services.LoggerFactory.CreateLogger<ModelVerseProvider>();
    }

    /// <inheritdoc />
    protected override string ProbePath => "v1/tasks/status?task_id=reelay-probe";

    /// <inheritdoc />
    public override string? CheckSupport(Job job, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(upstreamModel);
        if (IsSora(upstreamModel))
        {
            var image = upstreamModel.Contains("image-to-video", StringComparison.Ordinal);
            if (image != (job.Mode == VideoMode.ImageToVideo))
            {
                return $"{upstreamModel} is {(image ? "image" : "text")}-to-video only";
            }

            if (!SoraDurations.Contains(job.DurationSeconds))
            {
                return $"duration {job.DurationSeconds} s is not offered (4, 8 or 12)";
            }

            var sizes = upstreamModel.EndsWith("-pro", StringComparison.Ordinal) ? SoraProSizes : SoraSizes;
            if (!sizes.Contains(job.Size))
            {
                return $"size {job.Size} is not offered ({string.Join(", ", sizes)})";
            }

            return OptionNotOffered(job, (_, _) => false);
        }

        if (job.Mode != VideoMode.ImageToVideo)
        {
            return $"{upstreamModel} is served here as image-to-video only";
        }

        if (job.DurationSeconds is < 1 or > 10)
        {
            return $"duration {job.DurationSeconds} s is not offered (1 to 10)";
        }

        if (!ViduTiers.Contains(Tier(job)))
        {
            return $"resolution {Tier(job)} is not offered ({string.Join(", ", ViduTiers)})";
        }

        return OptionNotOffered(job, (key, _) => key is "movement_amplitude" or "bgm");
    }

    /// <inheritdoc />
    public override async Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var j = job.Job;
        var model = job.UpstreamModel;
        ModelVerseParameters parameters;
        string? firstFrame = null;
        if (IsSora(model))
        {
            if (j.Mode == VideoMode.ImageToVideo)
            {
                // Sora refuses first frames that differ from the video size: fit them here instead of failing upstream.
                var frame = await Frames.ReadAsync(job, j.Width, j.Height, Options.FirstFrameFit, cancellationToken).ConfigureAwait(false);
                firstFrame = frame.DataUri;
            }

            var pro = model.EndsWith("-pro", StringComparison.Ordinal);
            parameters = new ModelVerseParameters
            {
                Duration = j.DurationSeconds,
                Size = pro && j.Mode == VideoMode.ImageToVideo ? null : j.Size,
                Resolution = pro && j.Mode == VideoMode.ImageToVideo ? (Math.Max(j.Width, j.Height) > 1280 ? "1080p" : "720p") : null,
            };
        }
        else
        {
            firstFrame = (await Frames.ReadAsync(job, null, null, Options.FirstFrameFit, cancellationToken).ConfigureAwait(false)).DataUri;
            parameters = new ModelVerseParameters
            {
                ViduType = "img2video",
                Duration = j.DurationSeconds,
                Resolution = Tier(j),
                Seed = j.Seed,
                MovementAmplitude = j.Options.GetValueOrDefault("movement_amplitude"),
                Bgm = j.Options.TryGetValue("bgm", out var bgm) ? bool.Parse(bgm) : null,
            };
        }

        var body = new ModelVerseSubmit { Model = model, Input = new ModelVerseInput { Prompt = j.Prompt, FirstFrameUrl = firstFrame }, Parameters = parameters };
        using var request = new HttpRequestMessage(HttpMethod.Post, Http.Url("v1/tasks/submit"))
        {
            Content = JsonContent.Create(body, ModelVerseJsonContext.Default.ModelVerseSubmit),
        };
        UpstreamReply reply;
        try
        {
            reply = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (UpstreamTransportException ex)
        {
            return UpstreamErrors.SubmitTransport(Name, ex);
        }

        using var json = reply.TryJson();
        if (!reply.IsSuccess)
        {
            var root = json?.RootElement;
            return UpstreamErrors.Submit(Name, reply, root is { } r ? UpstreamJson.Str(r, "error", "message") : null, root is { } c ? UpstreamJson.Str(c, "error", "code") : null);
        }

        if (json is not null && UpstreamJson.Str(json.RootElement, "output", "task_id") is { Length: > 0 } taskId)
        {
            return new SubmitOutcome.Accepted(taskId);
        }

        // A 2xx whose body names no task: the upstream may have started (and will bill) a job Reelay cannot track.
        Log.UnreadableSubmit(_log, Name, j.Id);
        return UpstreamErrors.SubmitWithoutTaskId(Name);
    }

    /// <inheritdoc />
    public override async Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        using var request = new HttpRequestMessage(HttpMethod.Get, Http.Url("v1/tasks/status?task_id=" + Uri.EscapeDataString(job.Job.UpstreamId!)));
        UpstreamReply reply;
        try
        {
            reply = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (UpstreamTransportException ex)
        {
            return UpstreamErrors.PollTransport(ex);
        }

        using var json = reply.TryJson();
        if (!reply.IsSuccess)
        {
            var root = json?.RootElement;
            return UpstreamErrors.Poll(Name, reply, root is { } r ? UpstreamJson.Str(r, "error", "message") : null, root is { } c ? UpstreamJson.Str(c, "error", "code") : null);
        }

        if (json is null || UpstreamJson.Str(json.RootElement, "output", "task_status") is not { } status)
        {
            return new PollOutcome.RetryLater("the status reply was not readable JSON with output.task_status");
        }

        switch (status.ToUpperInvariant())
        {
            case "PENDING" or "QUEUED" or "WAITING" or "SUBMITTED" or "CREATED":
                return new PollOutcome.Running(0);
            case "RUNNING" or "PROCESSING" or "IN_PROGRESS" or "GENERATING":
                return new PollOutcome.Running(UpstreamJson.Int(json.RootElement, "output", "progress"));
            case "SUCCESS" or "SUCCEEDED" or "COMPLETED":
                return UpstreamJson.FirstStr(json.RootElement, "output", "urls") is { Length: > 0 } url
                    ? new PollOutcome.Succeeded(new ResultLocation(url, IsLocalFile: false))
                    : new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' reported success without a result URL."));
            case "FAILURE" or "FAILED" or "ERROR":
                return new PollOutcome.Failed(UpstreamErrors.TaskFailed(Name, UpstreamJson.Str(json.RootElement, "output", "error_message")));
            case "EXPIRED":
                return new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' expired the task before it finished."));
            default:
                Log.UnknownStatus(_log, Name, job.Job.Id, status);
                return new PollOutcome.Running(null);
        }
    }

    /// <inheritdoc />
    protected override void Authorize(HttpRequestHeaders headers) => headers.TryAddWithoutValidation("Authorization", Options.ApiKey);

    private static bool IsSora(string model) => model.StartsWith("openai/sora-2", StringComparison.Ordinal);

    private static string Tier(Job job) => job.Resolution ?? Math.Min(job.Width, job.Height).ToString(CultureInfo.InvariantCulture) + "p";

    private static partial class Log
    {
        [LoggerMessage(LogEventIds.ModelVerse + 0, LogLevel.Warning, "Provider {Provider}: unknown task status '{Status}' for job {JobId}; treated as still running")]
        public static partial void UnknownStatus(ILogger logger, string provider, string jobId, string status);

        [LoggerMessage(LogEventIds.ModelVerse + 1, LogLevel.Error, "Provider {Provider} accepted the submit of job {JobId} without a readable task id")]
        public static partial void UnreadableSubmit(ILogger logger, string provider, string jobId);
    }
}
