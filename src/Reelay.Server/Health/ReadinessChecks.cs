using Microsoft.Extensions.Diagnostics.HealthChecks;
using Reelay.Media;
using Reelay.Providers.Http;
using Reelay.Results;
using Reelay.Routing;
using Reelay.Storage;

namespace Reelay.Server.Health;

/// <summary>The job store answers a cheap indexed lookup (of an id no job has) within <see cref="Timeout"/>.</summary>
internal sealed class JobStoreHealthCheck(IJobStore store) : IHealthCheck
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(Timeout);
        try
        {
            // Ids are "video_..."-like; this one cannot exist, so the caching store passes it to the database.
            await store.GetAsync("health-probe", limit.Token).ConfigureAwait(false);
            return HealthCheckResult.Healthy("the job store answers");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"the job store did not answer within {Timeout.TotalSeconds:0} s");
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"the job store failed: {ex.GetType().Name}: {ex.Message}");
        }
    }
}

/// <summary>
/// The result storage answers (<see cref="IResultStore.CheckAsync"/>: the local folder takes a write, an S3 bucket answers
/// a one-key list) within <see cref="Timeout"/>; the answer is kept for <see cref="CacheFor"/>, so a storm of probes
/// costs one request.
/// </summary>
internal sealed class ResultStoreHealthCheck(IResultStore store, TimeProvider time) : IHealthCheck
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly CachedCheck _cached = new(time, CacheFor);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken) =>
        _cached.GetAsync(async () =>
        {
            using var limit = new CancellationTokenSource(Timeout, time);
            try
            {
                await store.CheckAsync(limit.Token).ConfigureAwait(false);
                return HealthCheckResult.Healthy("the result storage answers");
            }
            catch (OperationCanceledException)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, $"the result storage did not answer within {Timeout.TotalSeconds:0} s");
            }
            catch (Exception ex)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, $"the result storage failed: {ex.Message}");
            }
        }, cancellationToken);
}

/// <summary>ffmpeg runs: a bounded <c>ffmpeg -version</c>, its answer kept for <see cref="CacheFor"/>.</summary>
internal sealed class FfmpegHealthCheck(FfmpegRunner ffmpeg, TimeProvider time) : IHealthCheck
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(60);
    private readonly CachedCheck _cached = new(time, CacheFor);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken) =>
        _cached.GetAsync(async () =>
        {
            var probe = await FfmpegVersion.ProbeAsync(ffmpeg, CancellationToken.None).ConfigureAwait(false);
            return probe.Ok ? HealthCheckResult.Healthy(probe.Detail) : new HealthCheckResult(context.Registration.FailureStatus, probe.Detail);
        }, cancellationToken);
}

/// <summary>
/// One provider instance. A built-in one (the sandbox) has no upstream and is Healthy. A configured instance is Degraded
/// while its circuit is open or half-open on this node (routing skips it), or, with its circuit turned off, after
/// <see cref="FailureThreshold"/> HTTP calls in a row failed (transport or 5xx); else Healthy. Never Unhealthy on its own:
/// one bad upstream must not take the node out of a load balancer (routing fails over); <see cref="CircuitsHealthCheck"/>
/// is Unhealthy when every routed instance is open. The description never names the base URL or the credential.
/// </summary>
internal sealed class ProviderHealthCheck(string provider, UpstreamHttpClient? client, ProviderCircuits? circuits) : IHealthCheck
{
    public const int FailureThreshold = 3;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        if (client is null)
        {
            return Task.FromResult(HealthCheckResult.Healthy("built in: renders on this machine"));
        }

        if (circuits?.Get(provider) is { } circuit)
        {
            return Task.FromResult(circuit.State switch
            {
                CircuitState.Open => HealthCheckResult.Degraded($"circuit open until {circuit.OpenUntil:O} after {circuit.ConsecutiveFailures} failed submits in a row; routing skips this instance on this node"),
                CircuitState.HalfOpen => HealthCheckResult.Degraded($"circuit half-open: the next submit is a trial ({circuit.ConsecutiveFailures} failed submits in a row)"),
                _ => HealthCheckResult.Healthy($"circuit closed; {client.RequestCount} upstream calls so far, {circuit.ConsecutiveFailures} submits failed in a row"),
            });
        }

        var failures = client.ConsecutiveFailures;
        return Task.FromResult(failures >= FailureThreshold
            ? HealthCheckResult.Degraded($"the last {failures} upstream calls failed (no answer, timeout or 5xx)")
            : HealthCheckResult.Healthy($"configured; {client.RequestCount} upstream calls so far, {failures} failed in a row"));
    }
}

/// <summary>
/// Every routed provider instance at once: Unhealthy when each instance that serves some model has its circuit open on
/// this node (no model can be served, except the sandbox's own), else Healthy. Without routes it has nothing to say (Healthy).
/// </summary>
internal sealed class CircuitsHealthCheck(IReadOnlyCollection<string> routed, ProviderCircuits circuits) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        var open = routed.Where(p => circuits.Get(p)?.State == CircuitState.Open).ToList();
        if (routed.Count > 0 && open.Count == routed.Count)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"every routed provider instance has its circuit open ({string.Join(", ", open)}): no routed model can be served now"));
        }

        return Task.FromResult(HealthCheckResult.Healthy($"{open.Count} of {routed.Count} routed provider instances have their circuit open"));
    }
}

/// <summary>Keeps a check's result for a while and shares one run among concurrent callers.</summary>
internal sealed class CachedCheck(TimeProvider time, TimeSpan cacheFor)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Entry? _entry;

    public async Task<HealthCheckResult> GetAsync(Func<Task<HealthCheckResult>> run, CancellationToken cancellationToken)
    {
        if (Fresh() is { } fresh)
        {
            return fresh;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Fresh() is { } again)
            {
                return again;
            }

            var result = await run().ConfigureAwait(false);
            Volatile.Write(ref _entry, new Entry(result, time.GetTimestamp()));
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    private HealthCheckResult? Fresh() => Volatile.Read(ref _entry) is { } entry && time.GetElapsedTime(entry.At) < cacheFor ? entry.Result : null;

    private sealed record Entry(HealthCheckResult Result, long At);
}
