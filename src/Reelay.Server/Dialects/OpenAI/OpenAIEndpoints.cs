using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Auth;

namespace Reelay.Server.Dialects.OpenAI;

/// <summary>The OpenAI-compatible /v1/videos API (plus /v1/models and a cancel extension).</summary>
public static class OpenAIEndpoints
{
    /// <summary>Maps the dialect's routes.</summary>
    public static IEndpointRouteBuilder MapOpenAIDialect(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        v1.AddEndpointFilter(new OpenAIFilter());
        v1.MapPost("/videos", Create);
        v1.MapGet("/videos", List);
        v1.MapGet("/videos/{id}", Retrieve);
        v1.MapDelete("/videos/{id}", Delete);
        v1.MapPost("/videos/{id}/cancel", Cancel);
        v1.MapGet("/videos/{id}/content", Content);
        v1.MapGet("/models", Models);
        return app;
    }

    private static Caller CallerOf(HttpContext context) => (Caller)context.Items[OpenAIFilter.CallerKey]!;

    private static async Task<IResult> Create(HttpContext context, JobEngine engine, ReelayOptions options)
    {
        var request = await OpenAIRequestReader.ReadAsync(context.Request, CallerOf(context).KeyId, options.OpenAI.DefaultModel, options.Limits.MaxImageBytes, context.RequestAborted).ConfigureAwait(false);
        var job = await engine.SubmitAsync(request, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(OpenAIMapper.Video(job, engine.QueuePosition(job)), OpenAIJsonContext.Default.OpenAIVideo);
    }

    private static async Task<IResult> Retrieve(string id, HttpContext context, JobEngine engine)
    {
        var job = await engine.GetAsync(id, CallerOf(context), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(OpenAIMapper.Video(job, engine.QueuePosition(job)), OpenAIJsonContext.Default.OpenAIVideo);
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
        var data = page.Items.Select(j => OpenAIMapper.Video(j, engine.QueuePosition(j))).ToList();
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
        return TypedResults.Json(OpenAIMapper.Video(job, null), OpenAIJsonContext.Default.OpenAIVideo);
    }

    private static async Task<IResult> Content(string id, HttpContext context, JobEngine engine, string? variant)
    {
        var which = variant switch
        {
            null or "" or "video" => ContentVariant.Video,
            "thumbnail" => ContentVariant.Thumbnail,
            _ => throw ReelayException.Invalid("variant", $"variant '{variant}' is not available; allowed: video, thumbnail."),
        };
        var content = await engine.OpenContentAsync(id, CallerOf(context), which, context.RequestAborted).ConfigureAwait(false);
        var fileName = $"{id}.{(which == ContentVariant.Video ? "mp4" : "jpg")}";
        if (content.PhysicalPath is { } path)
        {
            return TypedResults.PhysicalFile(path, content.ContentType, fileName, content.LastModified, enableRangeProcessing: true);
        }

        return TypedResults.Stream(content.OpenRead(), content.ContentType, fileName, content.LastModified, enableRangeProcessing: true);
    }

    private static IResult Models(JobEngine engine) => TypedResults.Json(
        new OpenAIModelList { Data = engine.Catalog.Models.OrderBy(m => m.Name, StringComparer.Ordinal).Select(OpenAIMapper.Model).ToList() },
        OpenAIJsonContext.Default.OpenAIModelList);

    /// <summary>Writes an error in OpenAI's envelope.</summary>
    internal static Task WriteErrorAsync(HttpContext context, JobError error, int status)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(OpenAIMapper.Error(error), OpenAIJsonContext.Default.OpenAIErrorEnvelope, cancellationToken: context.RequestAborted);
    }

    /// <summary>Authentication and error rendering for every route of the dialect.</summary>
    private sealed class OpenAIFilter : IEndpointFilter
    {
        public const string CallerKey = "reelay.openai.caller";

        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
        {
            var context = invocation.HttpContext;
            var caller = context.RequestServices.GetRequiredService<ApiKeyAuthenticator>().Authenticate(context);
            if (caller is null)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                return Error(new JobError(ErrorCodes.Unauthorized, "Incorrect or missing API key. Send 'Authorization: Bearer <key>'."), 401);
            }

            context.Items[CallerKey] = caller;
            try
            {
                return await next(invocation).ConfigureAwait(false);
            }
            catch (ReelayException ex)
            {
                if (ex.RetryAfter is { } retry)
                {
                    context.Response.Headers.RetryAfter = Math.Ceiling(retry.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                }

                return Error(ex.Error, ex.HttpStatus);
            }
            catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return Error(new JobError(ErrorCodes.PayloadTooLarge, "The request body is larger than this gateway allows (Reelay:Limits:MaxRequestBodyBytes)."), 413);
            }
            catch (BadHttpRequestException ex)
            {
                return Error(new JobError(ErrorCodes.InvalidRequest, $"The request could not be read: {ex.Message}"), ex.StatusCode);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                return TypedResults.Empty;
            }
            catch (Exception ex)
            {
                Hosting.ServerLog.Unhandled(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Reelay.Server.Dialects.OpenAI"), ex, context.Request.Method, context.Request.Path);
                return Error(new JobError(ErrorCodes.Internal, "Something went wrong inside Reelay; the error was logged."), 500);
            }
        }

        private static IResult Error(JobError error, int status) =>
            TypedResults.Json(OpenAIMapper.Error(error), OpenAIJsonContext.Default.OpenAIErrorEnvelope, statusCode: status);
    }
}
