using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.Sandbox;
using Reelay.Server.Health;
using Reelay.Storage;
using Reelay.Webhooks;

namespace Reelay.Server.Hosting;

/// <summary>
/// Whether this gateway is draining: set once, when the host begins to stop. While it is set /readyz answers 503, a
/// submit in any dialect answers 503 with Retry-After in that dialect's envelope, and everything else (status reads,
/// lists, content, cancels) keeps working.
/// </summary>
public sealed class ServerDrain
{
    /// <summary>What a refused submit is told to wait before it tries again (another node, or this one after its restart).</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    // The route patterns of every dialect's submit. A test submits through each dialect while draining, so a renamed
    // route fails there rather than slipping past the drain.
    private static readonly HashSet<string> SubmitRoutes = new(StringComparer.Ordinal)
    {
        "/v1/videos",
        "/v1/tasks/submit",
        "/v2/video/generations",
        "/v2/videos/generations",
    };

    private volatile bool _draining;

    /// <summary>True once the host began to stop.</summary>
    public bool IsDraining => _draining;

    /// <summary>
    /// Whether a stop waits for in-flight work (up to Reelay:Shutdown:DrainTimeout). `reelay serve` turns it on
    /// (<see cref="ReelayServer.DrainOnStop"/>); an embedded gateway (tests, in-process CLI commands) stops at once, its work
    /// left for recovery as before.
    /// </summary>
    public bool WaitOnStop { get; set; }

    /// <summary>Starts the drain (idempotent).</summary>
    public void Begin() => _draining = true;

    /// <summary>The error a submit gets while draining.</summary>
    public static JobError Refusal { get; } = new(ErrorCodes.Unavailable, "This Reelay gateway is shutting down and takes no new jobs; try again after Retry-After (another node, or this one once it has restarted).");

    /// <summary>True when the request is a submit (a POST to a dialect's create route).</summary>
    public static bool IsSubmit(HttpContext context) =>
        HttpMethods.IsPost(context.Request.Method)
        && context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } pattern }
        && SubmitRoutes.Contains(pattern.TrimEnd('/'));
}

/// <summary>
/// The graceful stop. When the host begins to stop (SIGTERM, Ctrl+C), before any service stops and while Kestrel still
/// serves, it marks the gateway draining (readiness fails first, submits are refused) and waits, up to
/// Reelay:Shutdown:DrainTimeout, for the local renders in flight to finish (their jobs reach a terminal state) and for the
/// webhook attempts in flight and due to end. Then the host stops the engine through its StopAsync: whatever is still in
/// flight keeps its stored state (queued, submitting, running) and is recovered at the next start; nothing is failed
/// because the gateway stops. Jobs waiting in a queue are not waited for.
/// </summary>
internal sealed class GracefulStopService(
    ServerDrain drain,
    IJobStore store,
    ProviderRegistry providers,
    WebhookDispatcher webhooks,
    IWebhookStore webhookStore,
    ReelayServerOptions options,
    TimeProvider time,
    ILogger<GracefulStopService> log) : IHostedLifecycleService
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromMilliseconds(100);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        drain.Begin();
        if (!drain.WaitOnStop)
        {
            return;
        }

        var timeout = options.Shutdown.DrainTimeout;
        var started = time.GetTimestamp();
        ShutdownLog.DrainStarted(log, timeout.TotalSeconds);
        using var limit = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, limit.Token);
        var local = new HashSet<string>(StringComparer.Ordinal);
        var total = 0;
        try
        {
            local = await LocalRendersAsync(linked.Token).ConfigureAwait(false);
            total = local.Count;
            while (true)
            {
                foreach (var id in local.ToList())
                {
                    if (await store.GetAsync(id, linked.Token).ConfigureAwait(false) is not { } job || job.Status.IsTerminal())
                    {
                        local.Remove(id);
                    }
                }

                if (local.Count == 0 && webhooks.DeliveriesInFlight == 0 && !await WebhookDueAsync(linked.Token).ConfigureAwait(false))
                {
                    break;
                }

                await Task.Delay(CheckEvery, time, linked.Token).ConfigureAwait(false);
            }

            ShutdownLog.Drained(log, time.GetElapsedTime(started).TotalSeconds, total);
        }
        catch (OperationCanceledException)
        {
            ShutdownLog.DrainTimedOut(log, time.GetElapsedTime(started).TotalSeconds, total - local.Count, total, local.Count, webhooks.DeliveriesInFlight);
        }
        catch (Exception ex)
        {
            // The drain is a courtesy: a store that fails now must not keep the process from stopping.
            ShutdownLog.DrainFailed(log, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task<HashSet<string>> LocalRendersAsync(CancellationToken cancellationToken)
    {
        var renderers = providers.Providers.Where(p => p is SandboxProvider).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        if (renderers.Count == 0)
        {
            return new HashSet<string>(StringComparer.Ordinal);
        }

        var active = await store.ListActiveAsync(cancellationToken).ConfigureAwait(false);
        return active.Where(j => j.Status is JobStatus.Submitting or JobStatus.Running && j.Provider is not null && renderers.Contains(j.Provider))
            .Select(j => j.Id).ToHashSet(StringComparer.Ordinal);
    }

    private async Task<bool> WebhookDueAsync(CancellationToken cancellationToken) =>
        await webhookStore.NextDueAsync(new HashSet<string>(StringComparer.Ordinal), cancellationToken).ConfigureAwait(false) is { } next && next <= time.GetUtcNow();
}

/// <summary>/readyz's "shutdown" check: Unhealthy from the moment the gateway starts to drain.</summary>
internal sealed class DrainHealthCheck(ServerDrain drain) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken) =>
        Task.FromResult(drain.IsDraining
            ? new HealthCheckResult(context.Registration.FailureStatus, "the gateway is shutting down and takes no new jobs")
            : HealthCheckResult.Healthy("taking new jobs"));
}

/// <summary>Registration of the graceful stop.</summary>
public static class GracefulStopExtensions
{
    /// <summary>How much longer than the drain the host gives its services to stop (the engine, the outbox, Kestrel).</summary>
    public static readonly TimeSpan StopMargin = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Adds the drain (<see cref="ServerDrain"/>), its /readyz check ("shutdown") and the service that drains when the host
    /// stops; the host's shutdown timeout becomes Reelay:Shutdown:DrainTimeout plus <see cref="StopMargin"/>.
    /// </summary>
    public static IServiceCollection AddReelayGracefulStop(this IServiceCollection services)
    {
        services.AddSingleton<ServerDrain>();
        services.AddSingleton<IHostedService, GracefulStopService>();
        services.AddHealthChecks().Add(new HealthCheckRegistration("shutdown", sp => new DrainHealthCheck(sp.GetRequiredService<ServerDrain>()), HealthStatus.Unhealthy, [HealthEndpoints.ReadyTag]));
        // From the raw setting, not the validated options: the host reads its options when it is built, and an invalid
        // Reelay setting must fail where every other one does (at the start, as one line), not there.
        services.AddOptions<HostOptions>().Configure<IConfiguration>((host, configuration) =>
            host.ShutdownTimeout = (TimeSpan.TryParse(configuration["Reelay:Shutdown:DrainTimeout"], System.Globalization.CultureInfo.InvariantCulture, out var drain)
                && drain >= TimeSpan.Zero && drain <= TimeSpan.FromHours(1) ? drain : new ShutdownOptions().DrainTimeout) + StopMargin);
        return services;
    }
}
