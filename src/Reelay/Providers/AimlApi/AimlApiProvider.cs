using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers.Http;

namespace Reelay.Providers.AimlApi;

/// <summary>
/// AI/ML API's video generation API for Sora 2 (provider-apis.md §2): POST /v2/video/generations,
/// GET /v2/video/generations?generation_id=, "Authorization: Bearer &lt;key&gt;", statuses queued/generating/completed/error
/// (waiting and active tolerated), the {message, statusCode, …} error body, and no cancel or lookup by reference.
/// </summary>
public sealed partial class AimlApiProvider(string name, ProviderInstanceOptions options, ProviderServices services)
    : HttpVideoProvider(name, options, services)
{
    /// <inheritdoc />
    protected override string ProbePath => "v2/video/generations?generation_id=reelay-probe";

    /// <inheritdoc />
    protected override string CatalogType => AimlApiProviderFactory.TypeName;

    /// <inheritdoc />
    public override async Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var j = job.Job;
        var upstream = Catalog.FindUpstream(AimlApiProviderFactory.TypeName, job.UpstreamModel);
        string? image = null;
        if (j.Mode == VideoMode.ImageToVideo)
        {
            // Sora: "The image dimensions must match the selected video resolution and aspect ratio": fit it here. Other
            // models say in the catalog whether they need it (fitFirstFrame).
            var fit = upstream?.Body is null || upstream.FitFirstFrame;
            var frame = await Frames.ReadAsync(job, fit ? j.Width : null, fit ? j.Height : null, Options.FirstFrameFit, cancellationToken).ConfigureAwait(false);
            image = frame.DataUri;
        }

        // A model described with a request body in the catalog (Seedance, Hailuo) is rendered from it, with the last frame
        // and reference images where it says (Seedance: last_image_url, image_urls); Sora keeps its typed body.
        string? lastFrame = null;
        IReadOnlyList<string> references = [];
        if (upstream?.Body is not null)
        {
            (lastFrame, references) = await ReadExtraFramesAsync(job, cancellationToken).ConfigureAwait(false);
        }

        HttpContent content = upstream?.Body is not null
            ? new StringContent(RenderCatalogBody(upstream, j, image, lastFrame, references).ToJsonString(), System.Text.Encoding.UTF8, "application/json")
            : JsonContent.Create(
                new AimlApiCreate
                {
                    Model = job.UpstreamModel,
                    Prompt = j.Prompt,
                    ImageUrl = image,
                    Resolution = Math.Max(j.Width, j.Height) > 1280 ? "1080p" : "720p",
                    AspectRatio = j.Width >= j.Height ? "16:9" : "9:16",
                    Duration = j.DurationSeconds,
                },
                AimlApiJsonContext.Default.AimlApiCreate);
        using var request = new HttpRequestMessage(HttpMethod.Post, Http.Url("v2/video/generations")) { Content = content };
        return await SubmitJsonAsync(
            request,
            (failed, root) => UpstreamErrors.Submit(Name, failed, Message(root), Code(root)),
            // Refused at creation with the task's own error (e.g. prompt moderation): a definite failure.
            (_, root) => UpstreamJson.Str(root, "status") is { } status && status.Equals("error", StringComparison.OrdinalIgnoreCase)
                ? new SubmitOutcome.Rejected(UpstreamErrors.TaskFailed(Name, UpstreamJson.Str(root, "error", "message"), UpstreamJson.Str(root, "error", "name")))
                : AcceptedIf(UpstreamJson.Str(root, "id")),
            () => Log.UnreadableSubmit(Logger, Name, j.Id), "generation id", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        // Ids look like "video_…:openai/sora-2-pro-i2v": the ':' and '/' are escaped in the query.
        return PollJsonAsync(
            "v2/video/generations?generation_id=" + Uri.EscapeDataString(job.Job.UpstreamId!), (failed, root) =>
            UpstreamErrors.Poll(Name, failed, Message(root), Code(root)),
            r => UpstreamJson.Str(r, "status"),
            "the status reply was not readable JSON with a status",
            (json, status) => ReadStatus(job, json, status),
            cancellationToken);
    }

    /// <summary>What a readable status reply says about the job.</summary>
    private PollOutcome ReadStatus(ProviderJob job, JsonDocument json, string status)
    {
        var root = json.RootElement;
        switch (status.ToUpperInvariant())
        {
            case "QUEUED" or "WAITING" or "PENDING":
                return new PollOutcome.Running(0);
            case "GENERATING" or "ACTIVE" or "PROCESSING" or "IN_PROGRESS":
                return new PollOutcome.Running(UpstreamJson.Int(root, "progress"));
            case "COMPLETED" or "SUCCESS" or "SUCCEEDED":
                return (UpstreamJson.Str(root, "video", "url") ?? UpstreamJson.Str(root, "video")) is { Length: > 0 } url
                    ? new PollOutcome.Succeeded(new ResultLocation(url, IsLocalFile: false))
                    : new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' reported completion without a video URL."));
            case "ERROR" or "FAILED" or "FAILURE":
                return new PollOutcome.Failed(UpstreamErrors.TaskFailed(Name, UpstreamJson.Str(root, "error", "message") ?? UpstreamJson.Str(root, "error"), UpstreamJson.Str(root, "error", "name")));
            default:
                Log.UnknownStatus(Logger, Name, job.Job.Id, status);
                return new PollOutcome.Running(null);
        }
    }

    /// <inheritdoc />
    protected override void Authorize(HttpRequestHeaders headers) => headers.TryAddWithoutValidation("Authorization", "Bearer " + Options.ApiKey);

    // AI/ML's error body is {message, path, requestId, statusCode, timestamp}; an {error:{message,name}} shape is read too.
    private static string? Message(JsonElement? root) => root is not { } json ? null
        : UpstreamJson.Str(json, "message") ?? UpstreamJson.Str(json, "error", "message") ?? UpstreamJson.Str(json, "error");

    private static string? Code(JsonElement? root) => root is not { } json ? null : UpstreamJson.Str(json, "error", "name") ?? UpstreamJson.Str(json, "error", "code");

    private static partial class Log
    {
        [LoggerMessage(LogEventIds.AimlApi + 0, LogLevel.Warning, "Provider {Provider}: unknown generation status '{Status}' for job {JobId}; treated as still running")]
        public static partial void UnknownStatus(ILogger logger, string provider, string jobId, string status);

        [LoggerMessage(LogEventIds.AimlApi + 1, LogLevel.Error, "Provider {Provider} accepted the submit of job {JobId} without a readable generation id")]
        public static partial void UnreadableSubmit(ILogger logger, string provider, string jobId);
    }
}
