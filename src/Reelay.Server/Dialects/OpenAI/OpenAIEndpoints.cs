using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Content;

namespace Reelay.Server.Dialects.OpenAI;

/// <summary>The OpenAI-compatible /v1/videos API (plus /v1/models and a cancel extension).</summary>
public static class OpenAIEndpoints
{
    /// <summary>Registers what the dialect needs besides its routes: OpenAI-shaped webhook events (video.completed, video.failed).</summary>
    public static IServiceCollection AddOpenAIDialect(this IServiceCollection services)
    {
        services.AddSingleton<Reelay.Webhooks.IWebhookPayloadRenderer, OpenAIWebhookRenderer>();
        return services;
    }

    /// <summary>Maps the dialect's routes.</summary>
    public static IEndpointRouteBuilder MapOpenAIDialect(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        v1.AddEndpointFilter(new DialectFilter("OpenAI", WriteError, "Incorrect or missing API key. Send 'Authorization: Bearer <key>'.", "Bearer"));
        v1.MapPost("/videos", Create);
        v1.MapGet("/videos", List);
        v1.MapGet("/videos/{id}", Retrieve);
        v1.MapDelete("/videos/{id}", Delete);
        v1.MapPost("/videos/{id}/cancel", Cancel);
        v1.MapMethods("/videos/{id}/content", ContentResults.Methods, Content);
        v1.MapGet("/videos/{id}/events", OpenAIEvents.Stream);
        v1.MapGet("/models", Models);

        // OpenAI's video routes Reelay does not implement: a 404 that names the operation (OpenAI's own answer to a route
        // it lacks is 404 too, and no official client retries it), instead of a bare 404 or a misleading "no such video".
        v1.MapPost("/videos/{id}/remix", (HttpContext context) => Unsupported(context, "video remix", "POST /v1/videos/{video_id}/remix"));
        v1.MapPost("/videos/edits", (HttpContext context) => Unsupported(context, "video edits", "POST /v1/videos/edits"));
        v1.MapPost("/videos/extensions", (HttpContext context) => Unsupported(context, "video extensions", "POST /v1/videos/extensions"));
        v1.MapPost("/videos/characters", (HttpContext context) => Unsupported(context, "video characters", "POST /v1/videos/characters"));
        v1.MapGet("/videos/characters/{id}", (HttpContext context) => Unsupported(context, "video characters", "GET /v1/videos/characters/{character_id}"));
        return app;
    }

    /// <summary>The error code of an OpenAI operation Reelay does not implement.</summary>
    internal const string UnsupportedOperation = "unsupported_operation";

    private static IResult Unsupported(HttpContext context, string operation, string route) => WriteError(
        context,
        new JobError(UnsupportedOperation, $"Reelay does not implement OpenAI's {operation} operation ({route}). Supported: POST/GET /v1/videos, GET/DELETE /v1/videos/{{video_id}}, GET /v1/videos/{{video_id}}/content, POST /v1/videos/{{video_id}}/cancel."),
        StatusCodes.Status404NotFound);

    private static Caller CallerOf(HttpContext context) => DialectFilter.CallerOf(context);

    private static async Task<IResult> Create(HttpContext context, JobEngine engine, ReelayOptions options)
    {
        var request = await OpenAIRequestReader.ReadAsync(DialectContext.Of(context)).ConfigureAwait(false);
        var job = await engine.SubmitAsync(request, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(OpenAIRenderer.Video(job, engine.QueuePosition(job)), OpenAIJsonContext.Default.OpenAIVideo);
    }

    private static async Task<IResult> Retrieve(string id, HttpContext context, JobEngine engine)
    {
        var job = await engine.GetAsync(id, CallerOf(context), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(OpenAIRenderer.Video(job, engine.QueuePosition(job)), OpenAIJsonContext.Default.OpenAIVideo);
    }

    private static async Task<IResult> List(HttpContext context, JobEngine engine, string? after, string? limit, string? order)
    {
        var size = 20;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size is < 1 or > 100))
        {
            throw ReelayException.Invalid("limit", $"limit '{limit}' is not allowed; use a whole number from 1 to 100.");
        }

        if (order is not null and not "asc" and not "desc")
        {
            throw ReelayException.Invalid("order", $"order '{order}' is not allowed; use asc or desc.");
        }

        var page = await engine.ListAsync(CallerOf(context), string.IsNullOrEmpty(after) ? null : after, size, order == "asc", context.RequestAborted).ConfigureAwait(false);
        var data = page.Items.Select(j => OpenAIRenderer.Video(j, engine.QueuePosition(j))).ToList();
        return TypedResults.Json(
            new OpenAIVideoList { Data = data, FirstId = data.FirstOrDefault()?.Id, LastId = data.LastOrDefault()?.Id, HasMore = page.HasMore },
            OpenAIJsonContext.Default.OpenAIVideoList);
    }

    private static async Task<IResult> Delete(string id, HttpContext context, JobEngine engine)
    {
        var job = await engine.DeleteAsync(id, CallerOf(context), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(new OpenAIDeleted(job.Id, true), OpenAIJsonContext.Default.OpenAIDeleted);
    }

    private static async Task<IResult> Cancel(string id, HttpContext context, JobEngine engine)
    {
        var job = await engine.CancelAsync(id, CallerOf(context), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(OpenAIRenderer.Video(job, null), OpenAIJsonContext.Default.OpenAIVideo);
    }

    private static async Task<IResult> Content(string id, HttpContext context, JobEngine engine, string? variant)
    {
        var which = variant switch
        {
            null or "" or "video" => ContentVariant.Video,
            "thumbnail" => ContentVariant.Thumbnail,
            "spritesheet" => ContentVariant.Spritesheet,
            _ => throw ReelayException.Invalid("variant", $"variant '{variant}' is not available; allowed: video, thumbnail, spritesheet."),
        };
        var content = await engine.OpenContentAsync(id, CallerOf(context), which, context.RequestAborted).ConfigureAwait(false);
        return ContentResults.Serve(content, id, which);
    }

    private static IResult Models(JobEngine engine, Accounts.PriceTable prices) => TypedResults.Json(
        new OpenAIModelList { Data = engine.Catalog.Models.OrderBy(m => m.Name, StringComparer.Ordinal).Select(m => OpenAIRenderer.Model(m, prices.PricesOf(m.Name))).ToList() },
        OpenAIJsonContext.Default.OpenAIModelList);

    /// <summary>Renders an error in OpenAI's envelope.</summary>
    internal static IResult WriteError(HttpContext context, JobError error, int status) =>
        TypedResults.Json(OpenAIRenderer.Error(error), OpenAIJsonContext.Default.OpenAIErrorEnvelope, statusCode: status);
}
