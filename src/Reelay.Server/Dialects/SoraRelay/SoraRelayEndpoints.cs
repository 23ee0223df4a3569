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
        var generations = app.MapDialectGroup("/v2/videos/generations", "SoraRelay", SoraRelayRenderer.Error, "Invalid or missing API key: send 'Authorization: Bearer <key>'.", "Bearer");
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
            hooks.RememberBaseUrl(job.Id, SoraRelayRenderer.BaseUrl(context));
        }

        if (Events.PreferWait.Requested(context.Request, context.RequestServices.GetRequiredService<ReelayServerOptions>().MaxPreferWait) is not null)
        {
            // A synchronous wait answers with the query body (its task_id is where the submit answer has it).
            job = await Events.PreferWait.ApplyAsync(context, job).ConfigureAwait(false);
            return TypedResults.Json(SoraRelayRenderer.Render(job, SoraRelayRenderer.BaseUrl(context), context.RequestServices.GetRequiredService<ContentUrlSigner>()), SoraRelayJsonContext.Default.SoraRelayTask);
        }

        return TypedResults.Json(new SoraRelaySubmitResponse(job.Id), SoraRelayJsonContext.Default.SoraRelaySubmitResponse);
    }

    private static async Task<IResult> Query(string task_id, HttpContext context, JobEngine engine, ContentUrlSigner signer)
    {
        var job = await engine.GetAsync(task_id, DialectFilter.CallerOf(context), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(SoraRelayRenderer.Render(job, SoraRelayRenderer.BaseUrl(context), signer), SoraRelayJsonContext.Default.SoraRelayTask);
    }
}
