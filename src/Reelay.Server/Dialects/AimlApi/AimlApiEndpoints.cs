using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Content;

namespace Reelay.Server.Dialects.AimlApi;

/// <summary>AI/ML API's video API: POST /v2/video/generations and GET /v2/video/generations?generation_id=.</summary>
public static class AimlApiEndpoints
{
    /// <summary>Maps the dialect's routes.</summary>
    public static IEndpointRouteBuilder MapAimlApiDialect(this IEndpointRouteBuilder app)
    {
        var generations = app.MapDialectGroup("/v2/video/generations", "AimlApi", AimlApiRenderer.Error, "This request requires a valid API key: send 'Authorization: Bearer <key>'.", "Bearer");
        generations.MapPost("", Submit);
        generations.MapGet("", Status);
        return app;
    }

    private static async Task<IResult> Submit(HttpContext context, JobEngine engine, ContentUrlSigner signer)
    {
        var request = await AimlApiRequestReader.ReadAsync(DialectContext.Of(context)).ConfigureAwait(false);
        var job = await engine.SubmitAsync(request, context.RequestAborted).ConfigureAwait(false);
        job = await Events.PreferWait.ApplyAsync(context, job).ConfigureAwait(false);
        return TypedResults.Json(AimlApiRenderer.Generation(context, signer, job), AimlApiJsonContext.Default.AimlApiGeneration);
    }

    private static async Task<IResult> Status(HttpContext context, JobEngine engine, ContentUrlSigner signer, string? generation_id)
    {
        if (string.IsNullOrWhiteSpace(generation_id))
        {
            throw ReelayException.Invalid("generation_id", "Required: the id that POST /v2/video/generations returned.");
        }

        var job = await engine.GetAsync(generation_id, DialectFilter.CallerOf(context), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(AimlApiRenderer.Generation(context, signer, job), AimlApiJsonContext.Default.AimlApiGeneration);
    }
}
