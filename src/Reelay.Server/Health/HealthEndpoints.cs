using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Reelay.Media;
using Reelay.Providers;
using Reelay.Results;
using Reelay.Routing;
using Reelay.Server.Auth;
using Reelay.Storage;

namespace Reelay.Server.Health;

/// <summary>
/// /healthz (liveness: the process answers; nothing is checked) and /readyz (readiness: the job store, the result storage,
/// ffmpeg and each provider instance), through ASP.NET Core health checks. Readiness answers 200 when Healthy or Degraded
/// and 503 when Unhealthy. Anyone gets the overall status; a caller with an admin key also gets every check's name,
/// status, duration and description.
/// </summary>
public static class HealthEndpoints
{
    /// <summary>The tag of the checks /readyz runs.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Registers the readiness checks: store, storage, ffmpeg, and one per provider instance ("provider:NAME").</summary>
    public static IServiceCollection AddReelayHealth(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .Add(new HealthCheckRegistration("store", sp => new JobStoreHealthCheck(sp.GetRequiredService<IJobStore>()), HealthStatus.Unhealthy, [ReadyTag]))
            .Add(new HealthCheckRegistration("storage", sp => sp.GetRequiredService<ResultStoreHealthCheck>(), HealthStatus.Unhealthy, [ReadyTag]))
            .Add(new HealthCheckRegistration("ffmpeg", sp => sp.GetRequiredService<FfmpegHealthCheck>(), HealthStatus.Unhealthy, [ReadyTag]));
        // The cached checks keep their answer between requests, so they live as long as the app.
        services.AddSingleton(sp => new ResultStoreHealthCheck(sp.GetRequiredService<IResultStore>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new FfmpegHealthCheck(sp.GetRequiredService<FfmpegRunner>(), sp.GetRequiredService<TimeProvider>()));

        // The instances are known once the registry is built from the settings. A provider is at worst Degraded.
        services.AddOptions<HealthCheckServiceOptions>().Configure<ProviderRegistry, ProviderCircuits>((options, registry, circuits) =>
        {
            foreach (var provider in registry.Providers)
            {
                var client = registry.Clients.FirstOrDefault(c => c.Instance == provider.Name);
                var check = new ProviderHealthCheck(provider.Name, client, circuits);
                options.Registrations.Add(new HealthCheckRegistration("provider:" + provider.Name, check, HealthStatus.Degraded, [ReadyTag]));
            }

            var routed = registry.Routes.Values.SelectMany(d => d).Select(d => d.Provider).Distinct(StringComparer.Ordinal).ToList();
            options.Registrations.Add(new HealthCheckRegistration("circuits", new CircuitsHealthCheck(routed, circuits), HealthStatus.Unhealthy, [ReadyTag]));
        });
        return services;
    }

    /// <summary>Maps GET /healthz and GET /readyz.</summary>
    public static IEndpointRouteBuilder MapReelayHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = r => r.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync });
        return app;
    }

    private static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        var admin = await IsAdminAsync(context).ConfigureAwait(false);
        context.Response.ContentType = "application/json";
        var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        await using (writer.ConfigureAwait(false))
        {
            writer.WriteStartObject();
            writer.WriteString("status", report.Status.ToString());
            if (admin)
            {
                writer.WriteNumber("duration_ms", Math.Round(report.TotalDuration.TotalMilliseconds, 1));
                writer.WriteStartArray("checks");
                foreach (var (name, entry) in report.Entries)
                {
                    writer.WriteStartObject();
                    writer.WriteString("name", name);
                    writer.WriteString("status", entry.Status.ToString());
                    writer.WriteNumber("duration_ms", Math.Round(entry.Duration.TotalMilliseconds, 1));
                    writer.WriteString("description", entry.Description ?? entry.Exception?.GetType().Name);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }
    }

    private static async Task<bool> IsAdminAsync(HttpContext context)
    {
        try
        {
            var caller = await context.RequestServices.GetRequiredService<ApiKeyAuthenticator>().AuthenticateAsync(context).ConfigureAwait(false);
            return caller?.IsAdmin == true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A stored key is looked up in the job store, which may be what is broken: that caller gets the overall status.
            return false;
        }
    }
}
