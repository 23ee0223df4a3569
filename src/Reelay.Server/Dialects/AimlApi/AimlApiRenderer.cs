using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Content;

namespace Reelay.Server.Dialects.AimlApi;

/// <summary>Renders canonical jobs and errors in AI/ML API's shapes: a generation, its status names, and its error envelope.</summary>
internal static class AimlApiRenderer
{
    /// <summary>
    /// queued and submitting → queued; running → generating; succeeded → completed with Reelay's own signed URL;
    /// failed and cancelled → error, named by the canonical code. meta stays null: Reelay counts no credits.
    /// </summary>
    internal static AimlApiGeneration Generation(HttpContext context, ContentUrlSigner signer, Job job) => new()
    {
        Id = job.Id,
        Status = job.Status switch
        {
            JobStatus.Queued or JobStatus.Submitting => "queued",
            JobStatus.Running => "generating",
            JobStatus.Succeeded => "completed",
            _ => "error",
        },
        Video = job.Status == JobStatus.Succeeded ? new AimlApiVideo(Absolute(context, signer.SignedPath(job.Id, ContentVariant.Video))) : null,
        Error = job.Status is JobStatus.Failed or JobStatus.Cancelled
            ? job.Error is { } e
                ? new AimlApiError(e.Code, e.Message)
                : job.Status == JobStatus.Cancelled ? new AimlApiError(ErrorCodes.Cancelled, "The job was cancelled.") : new AimlApiError(ErrorCodes.Internal, "The job failed.")
            : null,
        Meta = null,
        Note = job.Note,
    };

    private static string Absolute(HttpContext context, string pathAndQuery) => context.RequestServices.GetRequiredService<Hosting.PublicUrls>().Absolute(context, pathAndQuery);

    /// <summary>
    /// AI/ML API's envelope: <c>{message, path, requestId, statusCode, timestamp}</c>. Validation messages read
    /// "Body validation error! field: detail" with the field in AI/ML's spelling; running out of budget is 403, as AI/ML
    /// answers when credits run out.
    /// </summary>
    internal static IResult Error(HttpContext context, JobError error, int status)
    {
        if (error.Code == ErrorCodes.QuotaExceeded)
        {
            status = StatusCodes.Status403Forbidden;
        }

        var message = error.Code switch
        {
            ErrorCodes.InvalidRequest or ErrorCodes.ImageInvalid or ErrorCodes.UnsupportedModel => Validation(error),
            ErrorCodes.RateLimited => $"Too Many Requests: {error.Message}",
            _ => error.Message,
        };
        var requestId = Guid.NewGuid().ToString();
        context.Response.Headers["X-Request-Id"] = requestId;
        var timestamp = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        return TypedResults.Json(
            new AimlApiErrorBody(message, context.Request.Path.Value ?? "", requestId, status, timestamp),
            AimlApiErrorJsonContext.Default.AimlApiErrorBody,
            statusCode: status);
    }

    private static string Validation(JobError error)
    {
        var field = error.Param switch
        {
            null or "body" => null,
            "first_frame" => "image_url",
            var other => other,
        };
        var prefix = field == "generation_id" ? "Query validation error!" : "Body validation error!";
        return field is null ? $"{prefix} {error.Message}" : $"{prefix} {field}: {error.Message}";
    }
}
