using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Reelay.Jobs;
using Reelay.Server.Dialects.AimlApi;
using Reelay.Server.Dialects.ModelVerse;
using Reelay.Server.Dialects.OpenAI;
using Reelay.Server.Dialects.SoraRelay;

namespace Reelay.Server.Dialects;

/// <summary>
/// Requests no route answers: an unknown path is 404 and a known path with a method it does not take is 405 (with the
/// Allow header routing sets), each in the JSON error envelope of the dialect that owns the path's prefix, never with an
/// empty body. /v1/tasks is ModelVerse's, /v2/video AI/ML API's, /v2/videos the Sora relay's; /admin, /content and
/// everything else OpenAI's envelope.
/// </summary>
internal static class UnmatchedRequests
{
    /// <summary>Adds the middleware that fills in empty 404 and 405 answers.</summary>
    public static IApplicationBuilder UseDialectErrorsForUnmatchedRequests(this IApplicationBuilder app) =>
        app.Use(static async (context, next) =>
        {
            await next(context).ConfigureAwait(false);
            var response = context.Response;
            if (response.HasStarted || response.StatusCode is not (StatusCodes.Status404NotFound or StatusCodes.Status405MethodNotAllowed)
                || response.ContentLength is > 0 || response.ContentType is not null)
            {
                return;
            }

            var method = context.Request.Method;
            var path = context.Request.Path.Value ?? "/";
            var error = response.StatusCode == StatusCodes.Status404NotFound
                ? new JobError(ErrorCodes.NotFound, $"Reelay has no route {method} {path}. See the API documentation of the dialect you use (OpenAI /v1/videos, ModelVerse /v1/tasks, AI/ML API /v2/video/generations, Sora relay /v2/videos/generations).")
                : new JobError(ErrorCodes.InvalidRequest, $"{method} is not allowed on {path}; allowed: {AllowedMethods(response)}.");
            await RenderError(context.Request.Path)(context, error, response.StatusCode).ExecuteAsync(context).ConfigureAwait(false);
        });

    /// <summary>The error renderer of the dialect that owns <paramref name="path"/>.</summary>
    internal static Func<HttpContext, JobError, int, IResult> RenderError(PathString path)
    {
        if (path.StartsWithSegments("/v1/tasks", StringComparison.OrdinalIgnoreCase))
        {
            return ModelVerseRenderer.Error;
        }

        if (path.StartsWithSegments("/v2/video", StringComparison.OrdinalIgnoreCase))
        {
            return AimlApiRenderer.Error;
        }

        if (path.StartsWithSegments("/v2/videos", StringComparison.OrdinalIgnoreCase))
        {
            return SoraRelayRenderer.Error;
        }

        // /admin answers in OpenAI's envelope, as its routes do; so does everything else.
        return OpenAIEndpoints.WriteError;
    }

    private static string AllowedMethods(HttpResponse response)
    {
        var allow = response.Headers.Allow.ToString();
        return string.IsNullOrWhiteSpace(allow) ? "other methods" : allow;
    }
}
