using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Server.Auth;
using Reelay.Server.Dialects.OpenAI;

namespace Reelay.Server.Telemetry;

/// <summary>
/// Metrics and traces through OpenTelemetry (Reelay:Telemetry): Reelay's own meter and spans (<see cref="ReelayTelemetry"/>),
/// ASP.NET Core's and HttpClient's, and the runtime's; Prometheus text at /metrics and OTLP export.
/// </summary>
/// <remarks>
/// The Prometheus exporter (OpenTelemetry.Exporter.Prometheus.AspNetCore) is published as a beta because the OpenTelemetry
/// specification of Prometheus compatibility is still marked experimental, not for want of upkeep: it lives in the
/// opentelemetry-dotnet repository and is released with the SDK. It is pinned, and the tests check its output with
/// promtool and a real Prometheus server, so a change of format fails a test rather than a scrape in production.
/// </remarks>
public static class TelemetrySetup
{
    /// <summary>Where Prometheus text is served.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>ASP.NET Core's memory pool meter, left out (see <see cref="AddReelayTelemetry"/>).</summary>
    internal const string MemoryPoolMeter = "Microsoft.AspNetCore.MemoryPool";

    /// <summary>Routing's per-request counter, left out (see <see cref="AddReelayTelemetry"/>).</summary>
    internal const string RoutingMatchAttempts = "aspnetcore.routing.match_attempts";

    private static readonly string[] SignalEndpointKeys = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"];

    /// <summary>Registers OpenTelemetry per Reelay:Telemetry (validated with the other settings at start-up).</summary>
    public static WebApplicationBuilder AddReelayTelemetry(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = Read(builder.Configuration);
        var configuration = builder.Configuration;
        var otlp = options.OtlpEndpoint is not null || SignalEndpointKeys.Any(k => !string.IsNullOrWhiteSpace(configuration[k]));
        if (!options.Prometheus && !otlp)
        {
            return builder; // Nothing would read the measurements: no listener, no cost.
        }

        var version = typeof(ReelayTelemetry).Assembly.GetName().Version?.ToString(3) ?? "1.0.0";
        var otel = builder.Services.AddOpenTelemetry().ConfigureResource(resource =>
        {
            // OTEL_SERVICE_NAME (and OTEL_RESOURCE_ATTRIBUTES) win when set.
            if (string.IsNullOrWhiteSpace(configuration["OTEL_SERVICE_NAME"]))
            {
                resource.AddService("reelay", serviceVersion: version);
            }
        });
        otel.WithMetrics(metrics =>
        {
            metrics.AddMeter(ReelayTelemetry.MeterName);
            metrics.AddAspNetCoreInstrumentation();
            metrics.AddHttpClientInstrumentation();

            // Two of ASP.NET Core's meters record several times per request and are left out: Kestrel's memory pool
            // (aspnetcore.memory_pool.*: every block rented and returned) and routing's match attempts (one per request,
            // the same count as http.server.request.duration's). Each measurement is a tag lookup in the SDK; together they
            // were most of the metrics' CPU on a status read (docs/benchmarks.md section 1).
            metrics.AddView(instrument => instrument.Meter.Name == MemoryPoolMeter || instrument.Name == RoutingMatchAttempts ? MetricStreamConfiguration.Drop : null);
            if (options.RuntimeMetrics)
            {
                metrics.AddRuntimeInstrumentation();

                // Three runtime gauges end in ".count", which Prometheus reserves for histograms and summaries (promtool's
                // lint rejects "dotnet_timer_count"): they are renamed, for every exporter.
                metrics.AddView("dotnet.assembly.count", new MetricStreamConfiguration { Name = "dotnet.assemblies.loaded" });
                metrics.AddView("dotnet.process.cpu.count", new MetricStreamConfiguration { Name = "dotnet.process.cpus" });
                metrics.AddView("dotnet.timer.count", new MetricStreamConfiguration { Name = "dotnet.timers" });
            }

            if (options.Prometheus)
            {
                metrics.AddPrometheusExporter();
            }

            if (otlp)
            {
                metrics.AddOtlpExporter(exporter => ConfigureOtlp(exporter, options, "/v1/metrics"));
            }
        });

        if (otlp && options.Traces)
        {
            otel.WithTracing(tracing => tracing
                .AddSource(ReelayTelemetry.SourceName)
                .AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = context => !RequestLogging.IsQuietPath(context.Request.Path))
                .AddHttpClientInstrumentation()
                .AddOtlpExporter(exporter => ConfigureOtlp(exporter, options, "/v1/traces")));
        }

        return builder;
    }

    /// <summary>
    /// Maps GET /metrics: on the main listener for admin keys only (others get the OpenAI-style 401/403), or, when
    /// Reelay:Telemetry:MetricsUrl is set, only on that listener and without auth (the main listener answers 404, and the
    /// metrics listener answers 404 to everything but /metrics).
    /// </summary>
    public static WebApplication MapReelayMetrics(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = Read(app.Configuration);
        if (!options.Prometheus)
        {
            return app;
        }

        if (MetricsPort(options) is { } port)
        {
            app.MapPrometheusScrapingEndpoint(MetricsPath).RequireHost($"*:{port}");
        }
        else
        {
            app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: branch => branch.Use(RequireAdminAsync), optionsName: null);
        }

        return app;
    }

    /// <summary>
    /// Adds Reelay:Telemetry:MetricsUrl to the addresses the server listens on (after the configured ones, so the first
    /// address stays the API's), and keeps everything but /metrics off it.
    /// </summary>
    internal static void AddMetricsListener(WebApplicationBuilder builder, string urls)
    {
        var options = Read(builder.Configuration);
        if (options.Prometheus && options.MetricsUrl is { } metricsUrl && MetricsPort(options) is not null)
        {
            builder.WebHost.UseUrls($"{urls};{metricsUrl}");
        }
    }

    /// <summary>Answers 404 to anything but /metrics that arrives on the metrics listener (only used when there is one).</summary>
    internal static void UseMetricsListenerGuard(WebApplication app)
    {
        var options = Read(app.Configuration);
        if (!options.Prometheus || MetricsPort(options) is not { } port)
        {
            return;
        }

        app.Use((context, next) =>
        {
            if (context.Connection.LocalPort == port && !context.Request.Path.Equals(MetricsPath, StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });
    }

    private static int? MetricsPort(TelemetryOptions options) =>
        options.MetricsUrl is { } url && Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Port > 0 ? uri.Port : null;

    private static async Task RequireAdminAsync(HttpContext context, RequestDelegate next)
    {
        var caller = await context.RequestServices.GetRequiredService<ApiKeyAuthenticator>().AuthenticateAsync(context).ConfigureAwait(false);
        if (caller is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await OpenAIEndpoints.WriteError(context, new JobError(ErrorCodes.Unauthorized, "Incorrect or missing API key. /metrics needs an admin key: send 'Authorization: Bearer <key>'."), StatusCodes.Status401Unauthorized)
                .ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (!caller.IsAdmin)
        {
            await OpenAIEndpoints.WriteError(context, new JobError(ErrorCodes.Forbidden, "/metrics needs an admin API key; this key is a client key."), StatusCodes.Status403Forbidden)
                .ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    private static void ConfigureOtlp(OtlpExporterOptions exporter, TelemetryOptions options, string signalPath)
    {
        if (options.OtlpProtocol is { } protocol)
        {
            exporter.Protocol = protocol == "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        }

        if (options.OtlpEndpoint is { } endpoint)
        {
            // An endpoint set in code is used as is; over HTTP the exporter expects the signal's full path.
            exporter.Endpoint = exporter.Protocol == OtlpExportProtocol.HttpProtobuf && !endpoint.TrimEnd('/').EndsWith(signalPath, StringComparison.Ordinal)
                ? new Uri(endpoint.TrimEnd('/') + signalPath)
                : new Uri(endpoint);
        }
    }

    /// <summary>The settings as bound; defaults when they do not bind (the start-up validation then names the problem).</summary>
    private static TelemetryOptions Read(IConfiguration configuration)
    {
        try
        {
            return configuration.GetSection($"{ReelayOptions.Section}:Telemetry").Get<TelemetryOptions>() ?? new TelemetryOptions();
        }
        catch (InvalidOperationException)
        {
            return new TelemetryOptions();
        }
    }
}
