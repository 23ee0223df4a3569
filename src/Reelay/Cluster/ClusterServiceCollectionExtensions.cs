using Microsoft.Extensions.DependencyInjection;
using Reelay.Engine;

namespace Reelay.Cluster;

/// <summary>Registers the cluster seam: signals between nodes, job changes relayed through them, and provider slots.</summary>
public static class ClusterServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IClusterSignals"/>, <see cref="ClusterJobChanges"/> (also an <see cref="IJobObserver"/>) and
    /// <see cref="IProviderSlots"/>: in-process for the embedded store (one node), over the database for PostgreSQL.
    /// </summary>
    public static IServiceCollection AddReelayCluster(this IServiceCollection services)
    {
        services.AddSingleton<IClusterSignals>(sp => new InProcessClusterSignals(sp.GetRequiredService<ReelayOptions>().Engine.NodeId));
        services.AddSingleton<IProviderSlots>(LocalProviderSlots.Instance);
        services.AddSingleton<ClusterJobChanges>();
        services.AddSingleton<IJobObserver>(sp => sp.GetRequiredService<ClusterJobChanges>());
        return services;
    }
}
