using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Auth;

namespace Reelay.Server.Dialects;

/// <summary>
/// What every dialect's routes share: authentication (the caller is then <see cref="CallerOf"/>), and turning any failure
/// into a canonical <see cref="JobError"/> that the dialect renders in its own envelope. Nothing escapes as a bare 500.
/// </summary>
/// <param name="dialect">The dialect's name, for the log category.</param>
/// <param name="renderError">Renders an error in the dialect's envelope with the given HTTP status.</param>
/// <param name="unauthorizedMessage">What a request without a valid key is told, in the dialect's terms.</param>
/// <param name="challenge">A WWW-Authenticate value to send with 401, or null.</param>
internal sealed class DialectFilter(string dialect, Func<HttpContext, JobError, int, IResult> renderError, string unauthorizedMessage, string? challenge = null) : IEndpointFilter
{
    private const string CallerKey = "reelay.caller.authenticated";

    /// <summary>The authenticated caller of a request that passed this filter.</summary>
    public static Caller CallerOf(HttpContext context) => (Caller)context.Items[CallerKey]!;

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var caller = await context.RequestServices.GetRequiredService<ApiKeyAuthenticator>().AuthenticateAsync(context).ConfigureAwait(false);
        if (caller is null)
        {
            if (challenge is not null)
            {
                context.Response.Headers.WWWAuthenticate = challenge;
            }

            return renderError(context, new JobError(ErrorCodes.Unauthorized, unauthorizedMessage), 401);
        }

        context.Items[CallerKey] = caller;
        if (context.RequestServices.GetService<Hosting.ServerDrain>() is { IsDraining: true } && Hosting.ServerDrain.IsSubmit(context))
        {
            context.Response.Headers.RetryAfter = Hosting.ServerDrain.RetryAfter.TotalSeconds.ToString(CultureInfo.InvariantCulture);
            return renderError(context, Hosting.ServerDrain.Refusal, StatusCodes.Status503ServiceUnavailable);
        }

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

            return renderError(context, ex.Error, ex.HttpStatus);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return renderError(context, new JobError(ErrorCodes.PayloadTooLarge, "The request body is larger than this gateway allows (Reelay:Limits:MaxRequestBodyBytes)."), 413);
        }
        catch (BadHttpRequestException ex)
        {
            return renderError(context, new JobError(ErrorCodes.InvalidRequest, $"The request could not be read: {ex.Message}"), ex.StatusCode);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return TypedResults.Empty;
        }
        catch (Exception ex)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Reelay.Server.Dialects." + dialect);
            Hosting.ServerLog.Unhandled(logger, ex, context.Request.Method, context.Request.Path);
            return renderError(context, new JobError(ErrorCodes.Internal, "Something went wrong inside Reelay; the error was logged."), 500);
        }
    }
}
