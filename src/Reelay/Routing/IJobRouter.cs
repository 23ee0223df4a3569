using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Routing;

/// <summary>Chooses the deployments for a job: an ordered list to try until one upstream accepts it.</summary>
public interface IJobRouter
{
    /// <summary>
    /// The deployments that can serve <paramref name="job"/> exactly, in the order to try them. Throws
    /// unsupported_model naming each skipped deployment and why when none can.
    /// </summary>
    IReadOnlyList<JobRoute> Plan(Job job);

    /// <summary>The provider instance by name (for jobs already pinned to it), or null when it is no longer configured.</summary>
    IVideoProvider? FindProvider(string name);

    /// <summary>Every provider instance.</summary>
    IReadOnlyCollection<IVideoProvider> Providers { get; }

    /// <summary>
    /// Whether a new job may be sent to <paramref name="provider"/> now (its circuit is not open on this node). Routing
    /// prefers available deployments and falls back to the plan's order when none is.
    /// </summary>
    bool IsAvailable(string provider) => true;
}

/// <summary>A routing decision.</summary>
/// <param name="Provider">The provider instance.</param>
/// <param name="UpstreamModel">The upstream's id for the model.</param>
/// <param name="StandIn">True when the sandbox renders in place of another model (explicit operator opt-in).</param>
/// <param name="Note">What the job will tell clients about how it is rendered, if anything.</param>
public sealed record JobRoute(IVideoProvider Provider, string UpstreamModel, bool StandIn, string? Note);

/// <summary>Failover helpers over a plan.</summary>
public static class JobRouterExtensions
{
    /// <summary>The deployment after the one <paramref name="job"/> is on, or null when it is the last (or no longer planned).</summary>
    public static JobRoute? NextAfter(this IJobRouter router, Job job)
    {
        ArgumentNullException.ThrowIfNull(router);
        ArgumentNullException.ThrowIfNull(job);
        IReadOnlyList<JobRoute> plan;
        try
        {
            plan = router.Plan(job);
        }
        catch (ReelayException)
        {
            return null;
        }

        for (var i = 0; i < plan.Count - 1; i++)
        {
            if (plan[i].Provider.Name == job.Provider && plan[i].UpstreamModel == job.UpstreamModel)
            {
                return router.PreferAvailable(plan, i + 1);
            }
        }

        return null;
    }

    /// <summary>
    /// The first route from <paramref name="start"/> on whose instance is available (its circuit not open), or the one at
    /// <paramref name="start"/> when none is: the plan's order is kept, open instances are skipped, never dropped.
    /// </summary>
    public static JobRoute PreferAvailable(this IJobRouter router, IReadOnlyList<JobRoute> plan, int start = 0)
    {
        ArgumentNullException.ThrowIfNull(router);
        ArgumentNullException.ThrowIfNull(plan);
        for (var i = start; i < plan.Count; i++)
        {
            if (router.IsAvailable(plan[i].Provider.Name))
            {
                return plan[i];
            }
        }

        return plan[start];
    }

    /// <summary>The first deployment for <paramref name="job"/>, or null when none serves it any more.</summary>
    public static JobRoute? First(this IJobRouter router, Job job)
    {
        ArgumentNullException.ThrowIfNull(router);
        try
        {
            return router.Plan(job) is { Count: > 0 } plan ? router.PreferAvailable(plan) : null;
        }
        catch (ReelayException)
        {
            return null;
        }
    }
}
