using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Content;

namespace Reelay.Server.Dialects.ModelVerse;

/// <summary>UCloud ModelVerse's task API: POST /v1/tasks/submit and GET /v1/tasks/status?task_id=.</summary>
public static class ModelVerseEndpoints
{
    /// <summary>Maps the dialect's routes.</summary>
    public static IEndpointRouteBuilder MapModelVerseDialect(this IEndpointRouteBuilder app)
    {
        var tasks = app.MapGroup("/v1/tasks");
        tasks.AddEndpointFilter(new DialectFilter("ModelVerse", ModelVerseRenderer.Error, "Validate Certification failed: send 'Authorization: <key>'."));
        tasks.MapPost("/submit", Submit);
        tasks.MapGet("/status", Status);
        return app;
    }

    private static async Task<IResult> Submit(HttpContext context, JobEngine engine, ContentUrlSigner signer)
    {
        var request = await ModelVerseRequestReader.ReadAsync(DialectContext.Of(context)).ConfigureAwait(false);
        var job = await engine.SubmitAsync(request, context.RequestAborted).ConfigureAwait(false);
        if (Events.PreferWait.Requested(context.Request, context.RequestServices.GetRequiredService<ReelayServerOptions>().MaxPreferWait) is not null)
        {
            // A synchronous wait answers with the status body (its output.task_id is where the submit answer has it).
            job = await Events.PreferWait.ApplyAsync(context, job).ConfigureAwait(false);
            return TypedResults.Json(ModelVerseRenderer.Status(context, signer, job), ModelVerseJsonContext.Default.ModelVerseStatusResponse);
        }

        return TypedResults.Json(new ModelVerseSubmitResponse(new ModelVerseSubmitOutput(job.Id), ModelVerseRenderer.RequestId(context)), ModelVerseJsonContext.Default.ModelVerseSubmitResponse);
    }

    private static async Task<IResult> Status(HttpContext context, JobEngine engine, ContentUrlSigner signer, string? task_id)
    {
        if (string.IsNullOrWhiteSpace(task_id))
        {
            throw ReelayException.Invalid("task_id", "The query parameter task_id is required.");
        }

        var job = await engine.GetAsync(task_id, DialectFilter.CallerOf(context), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(ModelVerseRenderer.Status(context, signer, job), ModelVerseJsonContext.Default.ModelVerseStatusResponse);
    }
}
