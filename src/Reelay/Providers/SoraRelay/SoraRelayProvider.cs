using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers.Http;

namespace Reelay.Providers.SoraRelay;

/// <summary>
/// The "new-api"-style Sora relay (provider-apis.md §3): POST /v2/videos/generations, GET /v2/videos/generations/{task_id},
/// "Authorization: Bearer &lt;key&gt;", statuses NOT_START/IN_PROGRESS/SUCCESS/FAILURE with progress as a "55%" string, the
/// result at data.output, and no cancel or lookup by reference. The query reply is not documented by the relay's own
/// pages, so it is read tolerantly: a {code, message, data:{…}} envelope, data.url, video_url or output for the result.
/// </summary>
public sealed partial class SoraRelayProvider(string name, ProviderInstanceOptions options, ProviderServices services)
    : HttpVideoProvider(name, options, services)
{
    /// <inheritdoc />
    protected override string ProbePath => "v2/videos/generations/reelay-probe";

    // The catalog has the relay's rules: 25 s on sora-2-pro only, the 1080p sizes ("hd") on sora-2-pro only and not
    // at 25 s (where "HD has no effect"), and the watermark and private flags passed through.
    /// <inheritdoc />
    protected override string CatalogType => SoraRelayProviderFactory.TypeName;

    /// <inheritdoc />
    public override async Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var j = job.Job;
        string[]? images = null;
        if (j.Mode == VideoMode.ImageToVideo)
        {
            // "Inpaint image must match the requested width and height": fit it here instead of failing upstream.
            var frame = await Frames.ReadAsync(job, j.Width, j.Height, Options.FirstFrameFit, cancellationToken).ConfigureAwait(false);
            images = [frame.DataUri];
        }

        var body = new SoraRelayCreate
        {
            Prompt = j.Prompt ?? "",
            Model = job.UpstreamModel,
            Images = images,
            AspectRatio = j.Width >= j.Height ? "16:9" : "9:16",
            Hd = Math.Max(j.Width, j.Height) > 1280, // the 1080p sizes (1792x1024, 1024x1792) are the relay's "hd"
            Duration = j.DurationSeconds.ToString(CultureInfo.InvariantCulture),
            Watermark = Flag(j, "watermark"),
            Private = Flag(j, "private"),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, Http.Url("v2/videos/generations"))
        {
            Content = JsonContent.Create(body, SoraRelayJsonContext.Default.SoraRelayCreate),
        };
        return await SubmitJsonAsync(
            request,
            (failed, root) => UpstreamErrors.Submit(Name, failed, Message(root), Code(root)),
            (_, root) => AcceptedIf(TaskId(root)),
            () => Log.UnreadableSubmit(Logger, Name, j.Id), "task id", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return PollJsonAsync(
            "v2/videos/generations/" + Uri.EscapeDataString(job.Job.UpstreamId!), (failed, root) =>
            UpstreamErrors.Poll(Name, failed, Message(root), Code(root)),
            _ => "",
            "the status reply was not readable JSON",
            (json, _) => ReadStatus(job, json),
            cancellationToken);
    }

    /// <summary>What a readable status reply says about the job (its status may sit in a data envelope).</summary>
    private PollOutcome ReadStatus(ProviderJob job, JsonDocument json)
    {
        // The documented shape is flat; a new-api {code, message, data:{status, …}} envelope is unwrapped.
        var root = json.RootElement;
        if (UpstreamJson.Str(root, "status") is null && UpstreamJson.At(root, "data") is { ValueKind: JsonValueKind.Object } inner && UpstreamJson.Str(inner, "status") is not null)
        {
            root = inner;
        }

        if (UpstreamJson.Str(root, "status") is not { } status)
        {
            return new PollOutcome.RetryLater("the status reply had no status");
        }

        switch (status.ToUpperInvariant())
        {
            case "NOT_START" or "SUBMITTED" or "QUEUED" or "PENDING":
                return new PollOutcome.Running(UpstreamJson.Int(root, "progress") ?? 0);
            case "IN_PROGRESS" or "RUNNING" or "PROCESSING":
                return new PollOutcome.Running(UpstreamJson.Int(root, "progress"));
            case "SUCCESS" or "SUCCEEDED" or "COMPLETED":
                return ResultUrl(root) is { Length: > 0 } url
                    ? new PollOutcome.Succeeded(new ResultLocation(url, IsLocalFile: false))
                    : new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' reported success without a result URL."));
            case "FAILURE" or "FAILED" or "ERROR":
                return new PollOutcome.Failed(UpstreamErrors.TaskFailed(Name, UpstreamJson.Str(root, "fail_reason") ?? UpstreamJson.Str(root, "message")));
            default:
                Log.UnknownStatus(Logger, Name, job.Job.Id, status);
                return new PollOutcome.Running(null);
        }
    }

    /// <inheritdoc />
    protected override void Authorize(HttpRequestHeaders headers) => headers.TryAddWithoutValidation("Authorization", "Bearer " + Options.ApiKey);

    private static bool? Flag(Job job, string option) =>
        job.Options.TryGetValue(option, out var value) && bool.TryParse(value, out var flag) ? flag : null;

    private static string? TaskId(JsonElement root) =>
        UpstreamJson.Str(root, "task_id") ?? UpstreamJson.Str(root, "id") ?? UpstreamJson.Str(root, "data", "task_id") ?? UpstreamJson.Str(root, "data", "id");

    private static string? ResultUrl(JsonElement root) =>
        UpstreamJson.Str(root, "data", "output") ?? UpstreamJson.Str(root, "data", "url") ?? UpstreamJson.Str(root, "video_url")
        ?? UpstreamJson.Str(root, "output") ?? UpstreamJson.Str(root, "url");

    // Relays answer {code, message, data} for task errors and {error:{message, type, code}} from their auth layer.
    private static string? Message(JsonElement? root) => root is not { } json ? null
        : UpstreamJson.Str(json, "message") ?? UpstreamJson.Str(json, "error", "message") ?? UpstreamJson.Str(json, "error") ?? UpstreamJson.Str(json, "fail_reason");

    private static string? Code(JsonElement? root) => root is not { } json ? null
        : UpstreamJson.Str(json, "code") ?? UpstreamJson.Str(json, "error", "code") ?? UpstreamJson.Str(json, "error", "type");

    private static partial class Log
    {
        [LoggerMessage(LogEventIds.SoraRelay + 0, LogLevel.Warning, "Provider {Provider}: unknown task status '{Status}' for job {JobId}; treated as still running")]
        public static partial void UnknownStatus(ILogger logger, string provider, string jobId, string status);

        [LoggerMessage(LogEventIds.SoraRelay + 1, LogLevel.Error, "Provider {Provider} accepted the submit of job {JobId} without a readable task id")]
        public static partial void UnreadableSubmit(ILogger logger, string provider, string jobId);
    }
}
