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
public sealed partial class ModelVerseProvider(string name, ProviderInstanceOptions options, ProviderServices services)
    : HttpVideoProvider(name, options, services)
{
    /// <inheritdoc />
    protected override string ProbePath => "v1/tasks/status?task_id=reelay-probe";

    /// <inheritdoc />
    protected override string CatalogType => ModelVerseProviderFactory.TypeName;

    /// <inheritdoc />
    public override async Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var j = job.Job;
        var model = job.UpstreamModel;
        var upstream = Catalog.FindUpstream(ModelVerseProviderFactory.TypeName, model);
        HttpContent content;
        if (upstream?.Body is not null)
        {
            // A model described with a request body in the catalog (Kling, Veo, Hailuo, Wan, Seedance): rendered from it.
            string? image = null;
            if (j.Mode == VideoMode.ImageToVideo)
            {
                image = (await Frames.ReadAsync(job, upstream.FitFirstFrame ? j.Width : null, upstream.FitFirstFrame ? j.Height : null, Options.FirstFrameFit, cancellationToken).ConfigureAwait(false)).DataUri;
            }

            // The last frame and reference images go where the catalog body says (Kling image_tail, Veo input.last_frame,
            // Seedance content[] roles last_frame and reference_image).
            var (last, references) = await ReadExtraFramesAsync(job, cancellationToken).ConfigureAwait(false);
            content = new StringContent(RenderCatalogBody(upstream, j, image, last, references).ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        }
        else
        {
            content = JsonContent.Create(await TypedBodyAsync(job, cancellationToken).ConfigureAwait(false), ModelVerseJsonContext.Default.ModelVerseSubmit);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, Http.Url("v1/tasks/submit")) { Content = content };
        return await SubmitJsonAsync(
            request,
            (failed, root) => UpstreamErrors.Submit(Name, failed, root is { } r ? UpstreamJson.Str(r, "error", "message") : null, root is { } c ? UpstreamJson.Str(c, "error", "code") : null),
            (_, root) => AcceptedIf(UpstreamJson.Str(root, "output", "task_id")),
            () => Log.UnreadableSubmit(Logger, Name, j.Id), "task id", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The typed body of the models whose wire predates catalog bodies (Sora and Vidu), byte for byte as before.</summary>
    private async Task<ModelVerseSubmit> TypedBodyAsync(ProviderJob job, CancellationToken cancellationToken)
    {
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

        return new ModelVerseSubmit { Model = model, Input = new ModelVerseInput { Prompt = j.Prompt, FirstFrameUrl = firstFrame }, Parameters = parameters };
    }

    /// <inheritdoc />
    public override Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return PollJsonAsync(
            "v1/tasks/status?task_id=" + Uri.EscapeDataString(job.Job.UpstreamId!), PollError(e => UpstreamJson.Str(e, "error", "message"), e => UpstreamJson.Str(e, "error", "code")),
            r => UpstreamJson.Str(r, "output", "task_status"),
            "the status reply was not readable JSON with output.task_status",
            (json, status) => ReadStatus(job, json, status),
            cancellationToken);
    }

    /// <summary>What a readable status reply says about the job.</summary>
    private PollOutcome ReadStatus(ProviderJob job, JsonDocument json, string status)
    {
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
                Log.UnknownStatus(Logger, Name, job.Job.Id, status);
                return new PollOutcome.Running(null);
        }
    }

    /// <inheritdoc />
    protected override void Authorize(HttpRequestHeaders headers) => headers.TryAddWithoutValidation("Authorization", Options.ApiKey);

    private static bool IsSora(string model) => model.StartsWith("openai/sora-2", StringComparison.Ordinal);

    private string Tier(Job job) => Catalog.TierOf(job);

    private static partial class Log
    {
        [LoggerMessage(LogEventIds.ModelVerse + 0, LogLevel.Warning, "Provider {Provider}: unknown task status '{Status}' for job {JobId}; treated as still running")]
        public static partial void UnknownStatus(ILogger logger, string provider, string jobId, string status);

        [LoggerMessage(LogEventIds.ModelVerse + 1, LogLevel.Error, "Provider {Provider} accepted the submit of job {JobId} without a readable task id")]
        public static partial void UnreadableSubmit(ILogger logger, string provider, string jobId);
    }
}
