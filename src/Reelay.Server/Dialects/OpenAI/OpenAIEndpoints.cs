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

        v1.MapPost("/videos/{id}/remix", Remix);
        v1.MapPost("/videos/edits", Edit);
        v1.MapPost("/videos/extensions", Extend);
        v1.MapPost("/videos/characters", CreateCharacter);
        v1.MapGet("/videos/characters/{id}", GetCharacter);
        return app;
    }

    private static Caller CallerOf(HttpContext context) => DialectFilter.CallerOf(context);

    private static async Task<IResult> Create(HttpContext context, JobEngine engine) =>
        await SubmitAsync(context, engine, await OpenAIRequestReader.ReadAsync(DialectContext.Of(context)).ConfigureAwait(false)).ConfigureAwait(false);

    private static async Task<IResult> Remix(string id, HttpContext context, JobEngine engine) =>
        await SubmitAsync(context, engine, await OpenAIOperationReader.ReadRemixAsync(DialectContext.Of(context), id).ConfigureAwait(false)).ConfigureAwait(false);

    private static async Task<IResult> Edit(HttpContext context, JobEngine engine) =>
        await SubmitAsync(context, engine, await OpenAIOperationReader.ReadEditAsync(DialectContext.Of(context)).ConfigureAwait(false)).ConfigureAwait(false);

    private static async Task<IResult> Extend(HttpContext context, JobEngine engine) =>
        await SubmitAsync(context, engine, await OpenAIOperationReader.ReadExtendAsync(DialectContext.Of(context)).ConfigureAwait(false)).ConfigureAwait(false);

    private static async Task<IResult> SubmitAsync(HttpContext context, JobEngine engine, JobRequest request)
    {
        var job = await engine.SubmitAsync(request, context.RequestAborted).ConfigureAwait(false);
        job = await Events.PreferWait.ApplyAsync(context, job).ConfigureAwait(false);
        return TypedResults.Json(OpenAIRenderer.Video(job, engine.QueuePosition(job)), OpenAIJsonContext.Default.OpenAIVideo);
    }

    // POST /v1/videos/characters: multipart name + video (OpenAI's field; an image is taken too), kept per key.
    private static async Task<IResult> CreateCharacter(HttpContext context, JobEngine engine)
    {
        var dialect = DialectContext.Of(context);
        if (!context.Request.HasFormContentType)
        {
            throw ReelayException.Invalid("video", "A character is created with multipart/form-data: 'name' and a 'video' file (a short MP4/WebM, or a PNG, JPEG or WebP image).");
        }

        var form = await FormBody.ReadAsync(context.Request, dialect.Limits.MaxImageBytes, context.RequestAborted).ConfigureAwait(false);
        foreach (var (key, _) in form.Fields)
        {
            if (key != "name")
            {
                throw ReelayException.Invalid(key.Length > 40 ? key[..40] : key, $"Unrecognized request argument supplied: '{(key.Length > 40 ? key[..40] + "…" : key)}'. Allowed: name, video (a file).");
            }
        }

        if (form.Values("name").Count > 1)
        {
            throw ReelayException.Invalid("name", "'name' is given more than once; send it once.");
        }

        var files = form.Files.ToList();
        if (files.FirstOrDefault(f => f.Name != "video") is { } other)
        {
            throw ReelayException.Invalid(other.Name, $"'{other.Name}' is not a field of this request; upload the reference as 'video'.");
        }

        if (files.Count != 1)
        {
            throw ReelayException.Invalid("video", files.Count == 0 ? "'video' is required: a file upload (a short MP4/WebM, or a PNG, JPEG or WebP image)." : "'video' is given more than once; upload one file.");
        }

        var name = form.Values("name") is [var n] ? n : null;
        var character = await engine.Characters.CreateAsync(dialect.Owner, name, files[0].Bytes, "video", context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(OpenAIRenderer.Character(character), OpenAIJsonContext.Default.OpenAICharacter);
    }

    private static async Task<IResult> GetCharacter(string id, HttpContext context, JobEngine engine)
    {
        var character = await engine.Characters.GetAsync(CallerOf(context).KeyId, id, "character_id", context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(OpenAIRenderer.Character(character), OpenAIJsonContext.Default.OpenAICharacter);
    }

    private static async Task<IResult> Retrieve(string id, HttpContext context, JobEngine engine)
    {
        var job = await engine.GetAsync(id, CallerOf(context), context.RequestAborted).ConfigureAwait(false);
        return new Hosting.SizedJsonResult<OpenAIVideo>(OpenAIRenderer.Video(job, engine.QueuePosition(job)), OpenAIJsonContext.Default.OpenAIVideo);
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
