using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Content;

namespace Reelay.Server.Dialects.ModelVerse;

/// <summary>Renders canonical jobs and errors in ModelVerse's shapes: a task's status body, its status names, and its error envelope.</summary>
internal static class ModelVerseRenderer
{
    private const string RequestIdKey = "reelay.modelverse.request_id";

    /// <summary>
    /// The status body: queued and submitting → Pending; running → Running; succeeded → Success with Reelay's own signed
    /// URL; failed and cancelled → Failure.
    /// </summary>
    internal static ModelVerseStatusResponse Status(HttpContext context, ContentUrlSigner signer, Job job)
    {
        var finished = job.Status.IsTerminal();
        var output = new ModelVerseTaskOutput
        {
            TaskId = job.Id,
            TaskStatus = job.Status switch
            {
                JobStatus.Queued or JobStatus.Submitting => "Pending",
                JobStatus.Running => "Running",
                JobStatus.Succeeded => "Success",
                _ => "Failure",
            },
            Urls = job.Status == JobStatus.Succeeded ? [Absolute(context, signer.SignedPath(job.Id, ContentVariant.Video))] : null,
            SubmitTime = job.CreatedAt.ToUnixTimeSeconds(),
            FinishTime = finished ? (job.CompletedAt ?? job.UpdatedAt).ToUnixTimeSeconds() : null,
            ErrorMessage = finished && job.Status != JobStatus.Succeeded ? job.Error?.Message ?? "The task failed." : null,
        };

        // The Sora pages document usage.duration as the task's run time; the others as the video's length.
        ModelVerseUsage? usage = null;
        if (finished)
        {
            usage = new ModelVerseUsage(ModelVerseModels.IsSora(job.Model)
                ? (int)Math.Round(((job.CompletedAt ?? job.UpdatedAt) - job.CreatedAt).TotalSeconds)
                : job.DurationSeconds);
        }

        return new ModelVerseStatusResponse { Output = output, Usage = usage, RequestId = RequestId(context) };
    }

    private static string Absolute(HttpContext context, string pathAndQuery) => context.RequestServices.GetRequiredService<Hosting.PublicUrls>().Absolute(context, pathAndQuery);

    internal static string RequestId(HttpContext context)
    {
        if (context.Items[RequestIdKey] is string id)
        {
            return id;
        }

        id = Guid.NewGuid().ToString();
        context.Items[RequestIdKey] = id;
        context.Response.Headers["X-Request-Id"] = id;
        return id;
    }

    /// <summary>
    /// ModelVerse's envelope: <c>{"error":{message, type, param, code}}</c>, where <c>param</c> carries the request id (as
    /// ModelVerse does) and the message names the field in ModelVerse's spelling.
    /// </summary>
    internal static IResult Error(HttpContext context, JobError error, int status)
    {
        var (type, code) = error.Code switch
        {
            ErrorCodes.InvalidRequest or ErrorCodes.ImageInvalid or ErrorCodes.PayloadTooLarge or ErrorCodes.Conflict => ("invalid_request_error", "param_error"),
            ErrorCodes.ModerationBlocked => ("invalid_request_error", "sensitive_check_error"),
            ErrorCodes.UnsupportedModel => ("invalid_request_error", "model_error"),
            ErrorCodes.Unauthorized => ("invalid_request_error", "auth_error"),
            ErrorCodes.NotFound => ("invalid_request_error", "not_found"),
            ErrorCodes.QuotaExceeded or ErrorCodes.Forbidden => ("permission_error", "forbidden"),
            ErrorCodes.RateLimited => ("rate_limit_error", "rate_limit"),
            ErrorCodes.UpstreamTimeout => ("timeout", "gateway_timeout_error"),
            _ => ("internal_error", "internal_error"),
        };
        var field = ModelVerseRequestReader.FieldPath(error.Param);
        var message = error.Code is ErrorCodes.InvalidRequest or ErrorCodes.ImageInvalid && field.Length > 0 ? $"Invalid param {field}: {error.Message}" : error.Message;
        return TypedResults.Json(new ModelVerseErrorEnvelope(new ModelVerseErrorBody(message, type, RequestId(context), code)), ModelVerseJsonContext.Default.ModelVerseErrorEnvelope, statusCode: status);
    }
}
