using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Content;

namespace Reelay.Server.Dialects.SoraRelay;

/// <summary>Renders canonical jobs and errors in the Sora relay's shapes: the task body (GET and notify_hook), its status names, and its error envelope.</summary>
internal static class SoraRelayRenderer
{
    /// <summary>queued and submitting → NOT_START; running → IN_PROGRESS; succeeded → SUCCESS; failed and cancelled → FAILURE.</summary>
    internal static string Status(JobStatus status) => status switch
    {
        JobStatus.Queued or JobStatus.Submitting => "NOT_START",
        JobStatus.Running => "IN_PROGRESS",
        JobStatus.Succeeded => "SUCCESS",
        _ => "FAILURE",
    };

    /// <summary>The query body of a job: what GET returns and what notify_hook receives.</summary>
    internal static SoraRelayTask Render(Job job, string baseUrl, ContentUrlSigner signer)
    {
        var succeeded = job.Status == JobStatus.Succeeded;
        return new SoraRelayTask
        {
            TaskId = job.Id,
            Status = Status(job.Status),
            Progress = $"{(succeeded ? 100 : Math.Clamp(job.Progress, 0, 100))}%",
            FailReason = job.Status is JobStatus.Failed or JobStatus.Cancelled ? job.Error?.Message ?? "The task failed." : "",
            Data = new SoraRelayTaskData(succeeded ? baseUrl + signer.SignedPath(job.Id, ContentVariant.Video) : null),
            SubmitTime = job.CreatedAt.ToUnixTimeSeconds(),
            StartTime = job.StartedAt?.ToUnixTimeSeconds() ?? 0,
            FinishTime = job.Status.IsTerminal() ? (job.CompletedAt ?? job.UpdatedAt).ToUnixTimeSeconds() : 0,
        };
    }

    internal static string BaseUrl(HttpContext context) => context.RequestServices.GetRequiredService<Hosting.PublicUrls>().BaseUrl(context);

    /// <summary>
    /// The relay's clients treat any non-200 as failure and read the reason from <c>message</c>, <c>error</c> or
    /// <c>fail_reason</c>: a top-level <c>message</c> string serves all of them, and <c>error</c> carries the OpenAI-style
    /// object that new-api itself answers with (<c>{message, type, param, code}</c>, <c>param</c> in this API's spelling).
    /// </summary>
    internal static IResult Error(HttpContext context, JobError error, int status)
    {
        var type = error.Code switch
        {
            ErrorCodes.Unauthorized => "authentication_error",
            ErrorCodes.QuotaExceeded => "insufficient_quota",
            ErrorCodes.RateLimited => "rate_limit_error",
            ErrorCodes.UpstreamAuth or ErrorCodes.UpstreamQuota or ErrorCodes.UpstreamRateLimited or ErrorCodes.UpstreamUnavailable or ErrorCodes.UpstreamTimeout => "upstream_error",
            _ when status < 500 => "invalid_request_error",
            _ => "server_error",
        };
        var field = SoraRelayRequestReader.FieldPath(error.Param);
        var message = field is not null && error.Code is ErrorCodes.InvalidRequest or ErrorCodes.ImageInvalid or ErrorCodes.UnsupportedModel && !error.Message.Contains(field, StringComparison.Ordinal)
            ? $"Invalid {field}: {error.Message}"
            : error.Message;
        return TypedResults.Json(new SoraRelayErrorEnvelope(message, new SoraRelayErrorBody(message, type, field, error.Code)), SoraRelayJsonContext.Default.SoraRelayErrorEnvelope, statusCode: status);
    }
}
