using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Net;
using Reelay.Server.Content;
using Reelay.Webhooks;

namespace Reelay.Server.Dialects.SoraRelay;

/// <summary>
/// The Sora reseller ("new-api" relay station) API: POST /v2/videos/generations and
/// GET /v2/videos/generations/{task_id}, with notify_hook callbacks.
/// </summary>
public static class SoraRelayEndpoints
{
    /// <summary>Registers what the dialect needs besides its routes: the notify_hook body (relay jobs' webhook payloads).</summary>
    public static IServiceCollection AddSoraRelayDialect(this IServiceCollection services)
    {
        services.AddSingleton<SoraRelayWebhookRenderer>();
        services.AddSingleton<IWebhookPayloadRenderer>(sp => sp.GetRequiredService<SoraRelayWebhookRenderer>());
        return services;
    }

    /// <summary>Maps the dialect's routes.</summary>
    public static IEndpointRouteBuilder MapSoraRelayDialect(this IEndpointRouteBuilder app)
    {
        var generations = app.MapGroup("/v2/videos/generations");
        generations.AddEndpointFilter(new DialectFilter("SoraRelay", Error, "Invalid or missing API key: send 'Authorization: Bearer <key>'.", "Bearer"));
        generations.MapPost("", Submit);
        generations.MapGet("/{task_id}", Query);
        return app;
    }

    private static async Task<IResult> Submit(HttpContext context, JobEngine engine, AddressPolicy addresses, SoraRelayWebhookRenderer hooks)
    {
        var request = await SoraRelayRequestReader.ReadAsync(DialectContext.Of(context)).ConfigureAwait(false);
        var job = await engine.SubmitAsync(request, context.RequestAborted).ConfigureAwait(false);
        if (job.WebhookUrl is not null)
        {
            // Callbacks carry the same absolute links as this client's own queries.
            hooks.RememberBaseUrl(job.Id, BaseUrl(context));
        }

        if (Events.PreferWait.Requested(context.Request, context.RequestServices.GetRequiredService<ReelayServerOptions>().MaxPreferWait) is not null)
        {
            // A synchronous wait answers with the query body (its task_id is where the submit answer has it).
            job = await Events.PreferWait.ApplyAsync(context, job).ConfigureAwait(false);
            return TypedResults.Json(Render(job, BaseUrl(context), context.RequestServices.GetRequiredService<ContentUrlSigner>()), SoraRelayJsonContext.Default.SoraRelayTask);
        }

        return TypedResults.Json(new SoraRelaySubmitResponse(job.Id), SoraRelayJsonContext.Default.SoraRelaySubmitResponse);
    }

    private static async Task<IResult> Query(string task_id, HttpContext context, JobEngine engine, ContentUrlSigner signer)
    {
        var job = await engine.GetAsync(task_id, DialectFilter.CallerOf(context), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(Render(job, BaseUrl(context), signer), SoraRelayJsonContext.Default.SoraRelayTask);
    }

    /// <summary>The query body of a job: what GET returns and what notify_hook receives.</summary>
    internal static SoraRelayTask Render(Job job, string baseUrl, ContentUrlSigner signer)
    {
        var succeeded = job.Status == JobStatus.Succeeded;
        return new SoraRelayTask
        {
            TaskId = job.Id,
            Status = SoraRelayModels.Status(job.Status),
            Progress = $"{(succeeded ? 100 : Math.Clamp(job.Progress, 0, 100))}%",
            FailReason = job.Status is JobStatus.Failed or JobStatus.Cancelled ? job.Error?.Message ?? "The task failed." : "",
            Data = new SoraRelayTaskData(succeeded ? baseUrl + signer.SignedPath(job.Id, ContentVariant.Video) : null),
            SubmitTime = job.CreatedAt.ToUnixTimeSeconds(),
            StartTime = job.StartedAt?.ToUnixTimeSeconds() ?? 0,
            FinishTime = job.Status.IsTerminal() ? (job.CompletedAt ?? job.UpdatedAt).ToUnixTimeSeconds() : 0,
        };
    }

    private static string BaseUrl(HttpContext context) => context.RequestServices.GetRequiredService<Hosting.PublicUrls>().BaseUrl(context);

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
