using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Auth;
using Reelay.Storage.Sql;

namespace Reelay.Server.Dialects;

/// <summary>
/// What every dialect's routes share: authentication (the caller is then <see cref="CallerOf"/>), and turning any failure
/// into a canonical <see cref="JobError"/> that the dialect renders in its own envelope. Nothing escapes as a bare 500, and
/// a transient failure of the job store's database (<see cref="StoreFailures"/>) is a 503 with Retry-After, not a 500.
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

    /// <summary>What a request that met a transient failure of the job store's database is told (503, with Retry-After).</summary>
    internal static JobError StoreUnavailable { get; } = new(ErrorCodes.Unavailable,
        "This Reelay gateway cannot reach its job store right now; try again after Retry-After. A submit retried with the same Idempotency-Key returns its job if it was stored.");

    /// <summary>How long a client is asked to wait after a store failure.</summary>
    internal static readonly TimeSpan StoreRetryAfter = TimeSpan.FromSeconds(2);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        try
        {
            // Authentication is inside the try: a stored key is looked up in the store, which may fail like any other read.
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
        catch (ObjectDisposedException) when (context.RequestServices.GetService<Hosting.ServerDrain>() is { IsDraining: true })
        {
            // A request still running when the stopping host disposed the store (or the engine) under it: the drain's 503.
            context.Response.Headers.RetryAfter = Hosting.ServerDrain.RetryAfter.TotalSeconds.ToString(CultureInfo.InvariantCulture);
            return renderError(context, Hosting.ServerDrain.Refusal, StatusCodes.Status503ServiceUnavailable);
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(ex))
        {
            // The database is unreachable, restarting, out of connections or timed out: nothing the client did wrong, and
            // nothing a retry cannot fix, so 503 rather than 500 (the message names no server, the log does).
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Reelay.Server.Dialects." + dialect);
            Hosting.ServerLog.StoreUnavailable(logger, ex, context.Request.Method, context.Request.Path);
            context.Response.Headers.RetryAfter = StoreRetryAfter.TotalSeconds.ToString(CultureInfo.InvariantCulture);
            return renderError(context, StoreUnavailable, StatusCodes.Status503ServiceUnavailable);
        }
        catch (Exception ex)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Reelay.Server.Dialects." + dialect);
            Hosting.ServerLog.Unhandled(logger, ex, context.Request.Method, context.Request.Path);
            return renderError(context, new JobError(ErrorCodes.Internal, "Something went wrong inside Reelay; the error was logged."), 500);
        }
    }
}
