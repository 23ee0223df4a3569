using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reelay.Engine;
using Reelay.Storage.Postgres;

namespace Reelay.Cluster;

/// <summary>Registers the cluster seam: signals between nodes, job changes relayed through them, provider slots, request and submit rates, and shared generated keys.</summary>
public static class ClusterServiceCollectionExtensions
{
    /// <summary>The claim lease on PostgreSQL when Reelay:Engine:ClaimLease is not set: a killed node's jobs are taken over within it plus a third of it.</summary>
    public static readonly TimeSpan PostgresClaimLease = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Adds <see cref="IClusterSignals"/>, <see cref="ClusterJobChanges"/> (also an <see cref="IJobObserver"/>) and
    /// <see cref="IProviderSlots"/>: in-process for the embedded store (one node); over the database (LISTEN/NOTIFY, a
    /// slots table) for PostgreSQL, where the claim lease also defaults to <see cref="PostgresClaimLease"/>.
    /// </summary>
    public static IServiceCollection AddReelayCluster(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.PostConfigure<ReelayOptions>(options =>
        {
            if (IsPostgres(options) && configuration[$"{ReelayOptions.Section}:Engine:ClaimLease"] is null)
            {
                options.Engine.ClaimLease = PostgresClaimLease;
            }
        });
        services.AddSingleton<IClusterSignals>(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            return IsPostgres(options)
                ? new PostgresNotifications(options.Store.ConnectionString!, options.Engine.NodeId, sp.GetRequiredService<ILogger<PostgresNotifications>>())
                : new InProcessClusterSignals(options.Engine.NodeId);
        });
        services.AddSingleton<IProviderSlots>(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            return IsPostgres(options) ? new PostgresProviderSlots(options.Store.ConnectionString!) : LocalProviderSlots.Instance;
        });
        // Request rates, submit rates and generated keys for all nodes together (PostgreSQL); in process otherwise.
        services.AddSingleton(sp => new PostgresClusterLimits(sp.GetRequiredService<ReelayOptions>().Store.ConnectionString!));
        services.AddSingleton<IUpstreamRateLimits>(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            return IsPostgres(options)
                ? new LeasedUpstreamRateLimits(sp.GetRequiredService<PostgresClusterLimits>(), options.Engine.NodeId, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<LeasedRateLimiter>>())
                : LocalUpstreamRateLimits.Instance;
        });
        services.AddSingleton<ISubmitRateCounters>(sp =>
            IsPostgres(sp.GetRequiredService<ReelayOptions>()) ? sp.GetRequiredService<PostgresClusterLimits>() : LocalSubmitRateCounters.Instance);
        services.AddSingleton<ISharedSecrets>(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            return IsPostgres(options) ? new PostgresSharedSecrets(options.Store.ConnectionString!) : LocalSecrets.Instance;
        });
        services.AddSingleton<ClusterJobChanges>();
        services.AddSingleton<IJobObserver>(sp => sp.GetRequiredService<ClusterJobChanges>());
        return services;
    }

    private static bool IsPostgres(ReelayOptions options) => options.Store.IsPostgres && !string.IsNullOrEmpty(options.Store.ConnectionString);
}
