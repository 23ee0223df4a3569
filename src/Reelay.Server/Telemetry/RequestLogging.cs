using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Auth;
using ZLogger;

namespace Reelay.Server.Telemetry;

/// <summary>
/// One log entry per HTTP request (category Reelay.Requests, Information): method, route template, status, duration,
/// the caller's key id (never the key) and the job id when there is one. /healthz, /readyz and /metrics are logged at
/// Debug unless they fail with a 5xx, so probes and scrapes do not flood the log.
/// </summary>
/// <remarks>
/// Hand-written rather than ASP.NET Core's HttpLogging: that one logs the raw path (client-chosen text, and ids that are
/// not the route) and builds a list of fields per request, while this is one source-generated call with the route
/// template, which is what both an operator and the status read's speed need.
/// </remarks>
public static partial class RequestLogging
{
    /// <summary>The log category of the request lines.</summary>
    public const string Category = "Reelay.Requests";

    private static readonly string[] JobRouteValues = ["id", "video_id", "task_id", "generation_id", "jobId"];

    // Set for requests that may create a job (not GET), so the job's insert can name it (see RequestJobObserver).
    private static readonly AsyncLocal<PendingRequest?> Current = new();

    /// <summary>Whether <paramref name="path"/> is a probe or a scrape (logged at Debug, not traced).</summary>
    public static bool IsQuietPath(PathString path) =>
        path.Equals("/healthz", StringComparison.Ordinal) || path.Equals("/readyz", StringComparison.Ordinal) || path.Equals(TelemetrySetup.MetricsPath, StringComparison.Ordinal);

    /// <summary>Adds the request line middleware (first in the pipeline, so it times and sees everything).</summary>
    public static WebApplication UseReelayRequestLogging(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        app.Use(async (context, next) =>
        {
            // Levels are thresholds: below Information, Debug is off too.
            if (!logger.IsEnabled(LogLevel.Information))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            var started = Stopwatch.GetTimestamp();
            PendingRequest? state = null;
            if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
            {
                state = new PendingRequest();
                Current.Value = state;
            }

            var threw = false;
            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch
            {
                threw = true;
                throw;
            }
            finally
            {
                Write(logger, context, Stopwatch.GetElapsedTime(started).TotalMilliseconds, state?.JobId, threw);
            }
        });
        return app;
    }

    /// <summary>Called when a job is inserted: names it in the line of the request that created it, if any.</summary>
    internal static void JobCreated(string jobId)
    {
        if (Current.Value is { } state)
        {
            state.JobId ??= jobId;
        }
    }

    private static void Write(ILogger logger, HttpContext context, double elapsedMs, string? createdJob, bool threw)
    {
        var request = context.Request;
        var status = threw && !context.Response.HasStarted ? 500
            : context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted ? 499
            : context.Response.StatusCode;
        var level = IsQuietPath(request.Path) && status < 500 ? LogLevel.Debug : LogLevel.Information;
        if (!logger.IsEnabled(level))
        {
            return;
        }

        var endpoint = context.GetEndpoint();
        var route = (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? (IsQuietPath(request.Path) ? request.Path.Value! : "(no route)");
        var keyId = context.Items.TryGetValue(ApiKeyAuthenticator.CallerItem, out var caller) && caller is Caller c ? c.KeyId : "-";
        var jobId = createdJob ?? JobIdOf(context) ?? "-";
        if (level == LogLevel.Debug)
        {
            QuietRequest(logger, request.Method, route, status, elapsedMs, keyId);
        }
        else
        {
            Request(logger, request.Method, route, status, elapsedMs, keyId, jobId);
        }
    }

    private static string? JobIdOf(HttpContext context)
    {
        var values = context.Request.RouteValues;
        if (values.Count > 0)
        {
            foreach (var name in JobRouteValues)
            {
                if (values.TryGetValue(name, out var value) && value is string { Length: > 0 and <= 64 } id && IsPlainId(id))
                {
                    return id;
                }
            }
        }

        // The ModelVerse and AI/ML status reads name the job in the query.
        if (context.Request.QueryString.HasValue)
        {
            foreach (var name in JobRouteValues)
            {
                if (context.Request.Query.TryGetValue(name, out var value) && value.Count == 1 && value[0] is { Length: > 0 and <= 64 } id && IsPlainId(id))
                {
                    return id;
                }
            }
        }

        return null;
    }

    // An id is client text until it is found: only plain ones (letters, digits, '-', '_', '.') go into the log.
    private static bool IsPlainId(string id)
    {
        foreach (var ch in id)
        {
            if (!char.IsAsciiLetterOrDigit(ch) && ch is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    // ZLogger's generator: formatted straight to UTF-8 by the text log (see LoggingSetup), and still read as named values
    // by other providers (the JSON console, OpenTelemetry).
    [ZLoggerMessage(LogEventIds.Telemetry + 0, LogLevel.Information, "{Method} {Route} {StatusCode} {ElapsedMs:0.0} ms key={KeyId} job={JobId}")]
    private static partial void Request(ILogger logger, string method, string route, int statusCode, double elapsedMs, string keyId, string jobId);

    [ZLoggerMessage(LogEventIds.Telemetry + 1, LogLevel.Debug, "{Method} {Route} {StatusCode} {ElapsedMs:0.0} ms key={KeyId}")]
    private static partial void QuietRequest(ILogger logger, string method, string route, int statusCode, double elapsedMs, string keyId);

    private sealed class PendingRequest
    {
        public string? JobId { get; set; }
    }
}

/// <summary>Tells the request log which job a request created (an insert heard on the request's own flow).</summary>
internal sealed class RequestJobObserver : IJobObserver
{
    public void OnJobChanged(Job? previous, Job current)
    {
        if (previous is null)
        {
            RequestLogging.JobCreated(current.Id);
        }
    }
}
