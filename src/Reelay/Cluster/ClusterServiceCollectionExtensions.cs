using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reelay.Engine;
using Reelay.Storage.Postgres;

namespace Reelay.Cluster;

/// <summary>Registers the cluster seam: signals between nodes, job changes relayed through them, and provider slots.</summary>
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
        services.AddSingleton<ClusterJobChanges>();
        services.AddSingleton<IJobObserver>(sp => sp.GetRequiredService<ClusterJobChanges>());
        return services;
    }

    private static bool IsPostgres(ReelayOptions options) => options.Store.IsPostgres && !string.IsNullOrEmpty(options.Store.ConnectionString);
}
