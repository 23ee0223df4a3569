using Reelay.Jobs;
using Reelay.Routing;

namespace Reelay.Server.Dashboard;

/// <summary>The providers page: each instance's state and load, and each route's deployments.</summary>
public sealed record ProvidersView(IReadOnlyList<ProviderRow> Providers, IReadOnlyDictionary<string, IReadOnlyList<Deployment>> Routes, (int Queued, int Active, int Timers) Scheduler);

/// <summary>
/// One provider instance. State: "built in" (the sandbox, no upstream), "circuit open" or "circuit half-open" (its circuit on
/// this node: routing skips it), "failing" (circuit turned off, and <see cref="Health.ProviderHealthCheck.FailureThreshold"/>
/// upstream calls in a row failed), or "healthy". <see cref="Circuit"/> describes the circuit (null without one).
/// </summary>
public sealed record ProviderRow(
    string Name,
    string? BaseUrl,
    string State,
    long? Calls,
    long? FailuresInARow,
    double? CallsPerSecond,
    int Queued,
    int InFlight,
    IReadOnlyList<Job> RecentFailures,
    string? Circuit = null);
