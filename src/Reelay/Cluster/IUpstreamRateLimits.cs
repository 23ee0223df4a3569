using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Reelay.Providers.Http;

namespace Reelay.Cluster;

/// <summary>
/// Makes the request-rate limiter of each provider instance (<c>MaxRequestsPerSecond</c>), which every submit, poll and
/// download of the instance waits on. One process: a token bucket of its own (<see cref="LocalUpstreamRateLimits"/>).
/// Several nodes on PostgreSQL: a bucket in the database that every node leases small batches of permits from
/// (<see cref="LeasedUpstreamRateLimits"/>), so the limit holds for all nodes together.
/// </summary>
public interface IUpstreamRateLimits
{
    /// <summary>The limiter of <paramref name="instance"/> at <paramref name="requestsPerSecond"/> (above 0); the caller disposes it.</summary>
    RateLimiter Create(string instance, double requestsPerSecond);
}

/// <summary>One process: each instance gets its own in-memory token bucket (<see cref="UpstreamHttpClient.CreateLocalLimiter"/>).</summary>
public sealed class LocalUpstreamRateLimits : IUpstreamRateLimits
{
    /// <summary>The one instance.</summary>
    public static LocalUpstreamRateLimits Instance { get; } = new();

    /// <inheritdoc />
    public RateLimiter Create(string instance, double requestsPerSecond) => UpstreamHttpClient.CreateLocalLimiter(requestsPerSecond);
}

/// <summary>Several nodes: each instance's limiter leases permits from a bucket shared through <paramref name="buckets"/>.</summary>
/// <param name="buckets">Where the buckets live (PostgreSQL).</param>
/// <param name="nodeId">This node's id.</param>
/// <param name="time">The clock.</param>
/// <param name="logger">Where a lost database (and its return) is logged, once each.</param>
public sealed class LeasedUpstreamRateLimits(ITokenBuckets buckets, string nodeId, TimeProvider time, ILogger<LeasedRateLimiter> logger) : IUpstreamRateLimits
{
    /// <inheritdoc />
    public RateLimiter Create(string instance, double requestsPerSecond) =>
        new LeasedRateLimiter(buckets, "provider." + instance, nodeId, requestsPerSecond, time, logger);
}
